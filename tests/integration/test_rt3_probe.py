import httpx
from tests.conftest import TEST_MODEL
from tests.integration.test_no_collection import checked

def test_probe(empty_db, embed_server, tmp_path):
    texts = [f"note {i} about {w}" for i, w in enumerate(["rope", "sail", "mast", "keel", "hull", "tide"])]
    vecs = httpx.post(f"{embed_server.url}/api/embed", json={"model": TEST_MODEL, "input": texts}).json()["embeddings"]
    empty_db.execute("CREATE TABLE n (id int PRIMARY KEY, body text, coll text, e halfvec)")
    with empty_db.connect(autocommit=True) as c:
        for i, (t, v) in enumerate(zip(texts, vecs)):
            c.execute("INSERT INTO n VALUES (%s,%s,'a',%s::halfvec)", (i, t, str(v)))
    empty_db.execute("UPDATE n SET e = (SELECT e FROM n WHERE id=0) WHERE id=1")
    empty_db.execute("UPDATE n SET e = array_fill(0, ARRAY[384])::halfvec WHERE id=2")
    empty_db.execute("UPDATE n SET e = (SELECT (e::vector(384))::text FROM n WHERE id=4)::halfvec || '[0.5]'::halfvec WHERE id=3")
    p = tmp_path / "p.yaml"
    p.write_text(f"name: n\nprovider: {{model: {TEST_MODEL}, dimensions: 384}}\nchunks: {{table: n, id: id, text: body, collection: coll}}\nembeddings: {{vector: e}}\n")
    outcomes, verdict = checked(empty_db, embed_server, p, "a")
    print("VERDICT", verdict.ok)
    for o in outcomes:
        print(o.check, o.status, o.found[:150], [x.id for x in o.offenders])
