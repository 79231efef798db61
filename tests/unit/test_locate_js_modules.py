"""Where a JS/TS import points: a relative path from the importing file, or an alias the nearest tsconfig.json maps."""

from harness.locate.js_modules import module_of, module_text

FILES = {
    "apps/web/tsconfig.json": '{ "compilerOptions": { "baseUrl": "src", "paths": { "~/*": ["./*"], "@config": ["../config/index"] } } }',
    "apps/web/src/lib/models.ts": 'export const embeddingModel = "mxbai-embed-large";\n',
    "apps/web/config/index.ts": "export const config = {};\n",
    "apps/web/src/lib/db/index.js": "export default {};\n",
}


def read(rel: str) -> str | None:
    return FILES.get(rel)


def test_a_relative_import_is_the_file_beside_the_importer_whatever_its_extension():
    assert module_text(module_of("apps/web/src/app/page.tsx", "../lib/models.js"), read) == FILES["apps/web/src/lib/models.ts"]
    assert module_text(module_of("apps/web/src/app/page.tsx", "../lib/db"), read) == FILES["apps/web/src/lib/db/index.js"]


def test_an_alias_is_mapped_by_the_nearest_tsconfigs_paths_from_its_base_url():
    assert module_text(module_of("apps/web/src/app/page.tsx", "~/lib/models"), read) == FILES["apps/web/src/lib/models.ts"]
    assert module_text(module_of("apps/web/src/app/page.tsx", "@config"), read) == FILES["apps/web/config/index.ts"]


def test_a_package_no_tsconfig_path_maps_is_not_a_file_of_the_repository():
    assert module_text(module_of("apps/web/src/app/page.tsx", "@langchain/ollama"), read) is None
    assert module_text(module_of("scripts/seed.ts", "~/lib/models"), read) is None  # no tsconfig above scripts/


def test_of_two_aliases_matching_an_import_the_one_with_the_longer_prefix_maps_it():
    """TypeScript takes the pattern with the longest prefix before its '*', whatever the order: the first one listed
    read src/models/embed.ts, a file the import does not name."""
    files = {"tsconfig.json": '{ "compilerOptions": { "paths": { "@/*": ["./src/*"], "@/models/*": ["./shared/models/*"] } } }',
             "src/models/embed.ts": 'export const MODEL = "all-minilm";\n',
             "shared/models/embed.ts": 'export const MODEL = "nomic-embed-text";\n'}
    assert module_text(module_of("src/app/page.ts", "@/models/embed"), files.get) == files["shared/models/embed.ts"]


def test_a_base_url_or_paths_left_in_a_tsconfig_comment_maps_nothing():
    """`tsc --init` writes every option commented out (`// "baseUrl": "./",`): TypeScript resolves a bare import to a
    package then, and the harness read the repository's `openai.ts` for `import ... from "openai"`."""
    files = {"tsconfig.json": '{\n  "compilerOptions": {\n    "target": "es2016",\n'
                              '    // "baseUrl": "./",   /* Specify the base directory to resolve non-relative module names. */\n'
                              '    /* "paths": { "@/*": ["./src/*"] }, */\n    "strict": true\n  }\n}\n',
             "openai.ts": 'export const MODEL = "text-embedding-3-small";\n',
             "src/models.ts": 'export const MODEL = "all-minilm";\n'}
    assert module_text(module_of("src/app.ts", "openai"), files.get) is None
    assert module_text(module_of("src/app.ts", "@/models"), files.get) is None
