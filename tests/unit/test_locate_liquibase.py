"""locate reads Liquibase changelogs (XML, YAML, JSON, formatted SQL): the vector columns their changesets make, in
the order the master changelog includes them, a later changeset's change superseding an earlier one's."""

from pathlib import Path

from harness.steps.locate import locate

XML_HEAD = ('<?xml version="1.1" encoding="UTF-8" standalone="no"?>\n'
            '<databaseChangeLog xmlns="http://www.liquibase.org/xml/ns/dbchangelog">\n')
MASTER = XML_HEAD + ('  <include file="changelog/db.changelog-1.0.xml"/>\n'
                     '  <include file="changelog/db.changelog-2.0.xml"/>\n</databaseChangeLog>\n')
CREATE = XML_HEAD + """    <changeSet author="a" id="1">
      <sql>CREATE EXTENSION IF NOT EXISTS vector;</sql>
      <rollback>DROP EXTENSION vector;</rollback>
    </changeSet>
    <changeSet author="a" id="2">
        <createTable tableName="knowledge_vectors">
            <column name="id" type="uuid"><constraints primaryKey="true" /></column>
            <column name="content" type="text" />
            <column name="vector" type="vector" />
        </createTable>
    </changeSet>
</databaseChangeLog>
"""


def app(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def now(found) -> set[tuple]:
    return {(d.path, d.line, d.table, d.column, d.type, d.dimensions) for d in found.declarations
            if d not in superseded(found)}


def superseded(found) -> set:
    from harness.locate.schema import superseded as old

    return old(found.declarations)


def test_an_xml_changelogs_create_table_declares_its_untyped_vector_column(tmp_path):
    found = locate(app(tmp_path, {"changelog/db.changelog.xml": MASTER, "changelog/db.changelog-1.0.xml": CREATE}))
    assert now(found) == {("changelog/db.changelog-1.0.xml", 11, "knowledge_vectors", "vector", "vector", None)}
    assert [d.kind for d in found.declarations] == ["liquibase"]


def test_a_later_changeset_in_an_included_file_supersedes_the_width_an_earlier_one_declared(tmp_path):
    widened = XML_HEAD + """  <changeSet author="a" id="3">
    <modifyDataType tableName="knowledge_vectors" columnName="vector" newDataType="vector(1536)"/>
  </changeSet>
  <changeSet author="a" id="4">
    <sql><![CDATA[ALTER TABLE knowledge_vectors ALTER COLUMN vector TYPE vector(768);]]></sql>
    <rollback><sql>ALTER TABLE knowledge_vectors ALTER COLUMN vector TYPE vector(1536);</sql></rollback>
  </changeSet>
</databaseChangeLog>
"""
    found = locate(app(tmp_path, {"changelog/db.changelog.xml": MASTER, "changelog/db.changelog-1.0.xml": CREATE,
                                  "changelog/db.changelog-2.0.xml": widened}))
    assert now(found) == {("changelog/db.changelog-2.0.xml", 7, "knowledge_vectors", "vector", "vector", 768)}
    assert found.declared_dimensions == (768,)
    assert len(found.declarations) == 3  # the untyped column, 1536, 768; the rollback's none


def test_a_column_a_later_changeset_drops_or_renames_is_no_longer_declared(tmp_path):
    renamed = XML_HEAD + """  <changeSet author="a" id="3">
    <renameColumn tableName="knowledge_vectors" oldColumnName="vector" newColumnName="embedding"/>
  </changeSet>
  <changeSet author="a" id="4">
    <addColumn tableName="knowledge_vectors"><column name="summary_vector" type="halfvec(384)"/></addColumn>
  </changeSet>
  <changeSet author="a" id="5">
    <dropColumn tableName="knowledge_vectors" columnName="summary_vector"/>
  </changeSet>
</databaseChangeLog>
"""
    found = locate(app(tmp_path, {"changelog/db.changelog.xml": MASTER, "changelog/db.changelog-1.0.xml": CREATE,
                                  "changelog/db.changelog-2.0.xml": renamed}))
    assert now(found) == {("changelog/db.changelog-2.0.xml", 4, "knowledge_vectors", "embedding", "vector", None)}


def test_yaml_json_and_formatted_sql_changelogs_are_read_in_include_order(tmp_path):
    master = ("databaseChangeLog:\n  - include:\n      file: db/changes/001-create.json\n"
              "  - include:\n      file: db/changes/002-widen.sql\n      relativeToChangelogFile: false\n")
    create = ('{"databaseChangeLog": [{"changeSet": {"id": "1", "author": "a", "changes": [{"createTable": {\n'
              '  "tableName": "chunks", "schemaName": "rag", "columns": [\n'
              '    {"column": {"name": "id", "type": "bigint"}},\n'
              '    {"column": {"name": "embedding", "type": "VECTOR(1024)"}}]}}]}}]}\n')
    widen = ("--liquibase formatted sql\n\n--changeset a:2\nALTER TABLE rag.chunks ALTER COLUMN embedding TYPE vector(384);\n"
             "--rollback ALTER TABLE rag.chunks ALTER COLUMN embedding TYPE vector(1024);\n")
    found = locate(app(tmp_path, {"db/changelog-master.yaml": master, "db/changes/001-create.json": create,
                                  "db/changes/002-widen.sql": widen}))
    assert now(found) == {("db/changes/002-widen.sql", 4, "rag.chunks", "embedding", "vector", 384)}
    assert {(d.path, d.dimensions) for d in found.declarations} == {("db/changes/001-create.json", 1024),
                                                                   ("db/changes/002-widen.sql", 384)}


def test_the_distance_of_an_index_a_changeset_makes_is_read_and_its_rollbacks_are_not(tmp_path):
    indexed = XML_HEAD + """  <changeSet author="a" id="3">
    <sql>CREATE INDEX knowledge_vectors_hnsw ON knowledge_vectors USING hnsw (vector vector_ip_ops);</sql>
    <rollback><sql>CREATE INDEX old_l2 ON knowledge_vectors USING ivfflat (vector vector_l2_ops);</sql></rollback>
  </changeSet>
</databaseChangeLog>
"""
    found = locate(app(tmp_path, {"changelog/db.changelog.xml": MASTER, "changelog/db.changelog-1.0.xml": CREATE,
                                  "changelog/db.changelog-2.0.xml": indexed}))
    assert {(u.path, u.line, u.table, u.column, u.distance) for u in found.distances} == {
        ("changelog/db.changelog-2.0.xml", 4, "knowledge_vectors", "vector", "ip")}


def test_an_sql_file_a_changeset_runs_is_read_in_the_changelogs_order_only(tmp_path):
    master = XML_HEAD + """  <changeSet author="a" id="1">
    <sqlFile path="sql/001_create.sql" relativeToChangelogFile="true"/>
  </changeSet>
  <changeSet author="a" id="2">
    <modifyDataType tableName="chunks" columnName="embedding" newDataType="vector(768)"/>
  </changeSet>
</databaseChangeLog>
"""
    found = locate(app(tmp_path, {"db/changelog.xml": master,
                                  "db/sql/001_create.sql": "CREATE TABLE chunks (id bigint, embedding vector(1536));\n"}))
    assert found.declared_dimensions == (768,)
    assert {(d.path, d.dimensions, d in superseded(found)) for d in found.declarations} == {
        ("db/sql/001_create.sql", 1536, True), ("db/changelog.xml", 768, False)}


def test_include_all_reads_a_folders_changelogs_in_name_order(tmp_path):
    master = XML_HEAD + '  <includeAll path="changes/" relativeToChangelogFile="true"/>\n</databaseChangeLog>\n'
    later = XML_HEAD + ('  <changeSet author="a" id="2">\n'
                        '    <modifyDataType tableName="knowledge_vectors" columnName="vector" newDataType="vector(384)"/>\n'
                        '  </changeSet>\n</databaseChangeLog>\n')
    found = locate(app(tmp_path, {"db/master.xml": master, "db/changes/002-widen.xml": later,
                                  "db/changes/001-create.xml": CREATE}))
    assert now(found) == {("db/changes/002-widen.xml", 4, "knowledge_vectors", "vector", "vector", 384)}


def test_a_changeset_for_another_database_is_not_postgres_schema(tmp_path):
    other = XML_HEAD + """  <changeSet author="a" id="3" dbms="h2">
    <modifyDataType tableName="knowledge_vectors" columnName="vector" newDataType="vector(3)"/>
  </changeSet>
  <changeSet author="a" id="4" dbms="postgresql, h2">
    <addColumn tableName="knowledge_vectors"><column name="title_vector" type="vector(384)"/></addColumn>
  </changeSet>
  <changeSet author="a" id="5" dbms="!postgresql">
    <dropColumn tableName="knowledge_vectors" columnName="title_vector"/>
  </changeSet>
  <changeSet author="a" id="6">
    <sql dbms="h2">ALTER TABLE knowledge_vectors ALTER COLUMN title_vector TYPE vector(3);</sql>
  </changeSet>
</databaseChangeLog>
"""
    found = locate(app(tmp_path, {"changelog/db.changelog.xml": MASTER, "changelog/db.changelog-1.0.xml": CREATE,
                                  "changelog/db.changelog-2.0.xml": other}))
    assert {(d.column, d.dimensions) for d in found.declarations if d not in superseded(found)} == {
        ("vector", None), ("title_vector", 384)}


def test_a_yaml_sql_change_or_an_sql_file_for_another_database_is_not_postgres_schema(tmp_path):
    """The `dbms` of a YAML changelog's `sql` change, and of an `sqlFile` in either form, is read as an XML `<sql>`'s is:
    the change another database runs declares no width of ours."""
    master = ("databaseChangeLog:\n  - include:\n      file: db/changes/001.yaml\n"
              "  - include:\n      file: db/changes/002.xml\n")
    create = ("databaseChangeLog:\n  - changeSet:\n      id: '1'\n      author: a\n      changes:\n"
              "        - sql:\n            sql: CREATE TABLE chunks (id bigint, embedding vector(1536));\n"
              "        - sql:\n            dbms: h2\n            sql: ALTER TABLE chunks ALTER COLUMN embedding TYPE vector(3);\n"
              "        - sqlFile:\n            dbms: h2\n            path: db/h2/widen.sql\n")
    other = XML_HEAD + """  <changeSet author="a" id="2">
    <sqlFile dbms="h2" path="db/h2/widen.sql"/>
  </changeSet>
</databaseChangeLog>
"""
    found = locate(app(tmp_path, {"db/changelog-master.yaml": master, "db/changes/001.yaml": create,
                                  "db/changes/002.xml": other,
                                  "db/h2/widen.sql": "ALTER TABLE chunks ALTER COLUMN embedding TYPE vector(3);\n"}))
    assert found.declared_dimensions == (1536,), [(d.path, d.line, d.dimensions, d.dropped, d.order) for d in found.declarations]
