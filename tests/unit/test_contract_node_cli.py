"""locate reads a Node CLI's flags in the forms real ones declare them: commander's `new Option(...)` built with
`.env()`, `.default()` and `.makeOptionMandatory()`; a default held in a constant (`'model', DEFAULT_MODEL`); cac's
`{ default: ... }`; meow's `flags: { embedModel: {...} }` (camelCase, given as `--embed-model`). Each flag with its short
name, env fallback, default and whether it is required, so that the draft and scope see the model and URL flags."""

from harness.checks.outcome import FAIL, PASS
from harness.locate.contract import read_contract
from harness.steps.contract_check import check_contract

from .test_contract_check import outcome, settings_for

COMMANDER_OPTIONS = """import { Command, Option } from 'commander';

const program = new Command();
program
  .addOption(new Option('-m, --model <name>', 'embedding model').default('nomic-embed-text').env('EMBED_MODEL'))
  .addOption(new Option('--ollama-url <url>', 'Ollama base URL').env('OLLAMA_HOST').default('http://localhost:11434'))
  .addOption(new Option('-d, --database-url <url>', 'Postgres').env('DATABASE_URL').makeOptionMandatory())
  .addOption(new Option('--batch-size <n>', 'batch').default('32'))
  .parse();
"""


def test_commanders_option_objects_are_flags_with_their_env_default_and_short_name():
    c = read_contract("src/cli.ts", COMMANDER_OPTIONS)
    assert c.flags == ("--model", "--ollama-url", "--database-url", "--batch-size"), c.flags
    assert dict(c.flag_aliases) == {"-m": "--model", "-d": "--database-url"}, c.flag_aliases
    assert dict(c.flag_env) == {"--model": "EMBED_MODEL", "--ollama-url": "OLLAMA_HOST", "--database-url": "DATABASE_URL"}
    assert {"EMBED_MODEL", "OLLAMA_HOST", "DATABASE_URL"} <= set(c.reads_env), c.reads_env
    assert dict(c.flag_defaults) == {"--batch-size": "32"}, c.flag_defaults


def test_commanders_mandatory_option_is_required_and_its_default_url_no_hard_coded_address():
    c = read_contract("src/cli.ts", COMMANDER_OPTIONS)
    assert c.required_flags == ("--database-url",), c.required_flags
    assert c.hardcoded_urls == (), c.hardcoded_urls


def test_an_option_default_held_in_a_constant_is_the_flags_default():
    text = ("import { program } from 'commander';\n\nexport const DEFAULT_MODEL = 'nomic-embed-text';\n\n"
            "program.option('-m, --model <name>', 'embedding model', DEFAULT_MODEL);\n"
            "yargs(hideBin(process.argv)).option('embed-model', { type: 'string', default: DEFAULT_MODEL });\n")
    c = read_contract("src/cli.ts", text)
    assert dict(c.flag_defaults) == {"--model": "nomic-embed-text", "--embed-model": "nomic-embed-text"}, c.flag_defaults


def test_cacs_option_default_in_its_config_object_is_the_flags_default():
    text = ("import cac from 'cac';\nconst cli = cac('embedder');\n"
            "cli.option('-m, --model <model>', 'Embedding model', { default: 'nomic-embed-text' });\n"
            "cli.option('--host <host>', 'Ollama host', { default: process.env.OLLAMA_HOST ?? 'http://localhost:11434' });\n"
            "cli.parse();\n")
    c = read_contract("src/cli.ts", text)
    assert dict(c.flag_defaults) == {"--model": "nomic-embed-text"}, c.flag_defaults
    assert dict(c.flag_env) == {"--host": "OLLAMA_HOST"}, c.flag_env
    assert dict(c.flag_aliases) == {"-m": "--model"}


def test_meows_flags_are_read_under_their_kebab_case_names():
    text = ("import meow from 'meow';\nconst cli = meow('usage', {\n  importMeta: import.meta,\n  flags: {\n"
            "    embedModel: { type: 'string', shortFlag: 'm', default: 'nomic-embed-text' },\n"
            "    ollamaUrl: { type: 'string', default: process.env.OLLAMA_URL ?? 'http://localhost:11434' },\n"
            "    databaseUrl: { type: 'string', isRequired: true },\n  },\n});\n")
    c = read_contract("src/cli.ts", text)
    assert c.flags == ("--embed-model", "--ollama-url", "--database-url"), c.flags
    assert dict(c.flag_defaults) == {"--embed-model": "nomic-embed-text"}
    assert dict(c.flag_env) == {"--ollama-url": "OLLAMA_URL"}
    assert dict(c.flag_aliases) == {"-m": "--embed-model"}
    assert c.required_flags == ("--database-url",)


def test_a_commander_option_objects_env_model_is_judged_by_what_the_profile_maps(tmp_path):
    """`--model` falls back to EMBED_MODEL: mapped to the profile's model, the command embeds it; the check said the
    command reads no model setting it can see."""
    (tmp_path / "cli.ts").write_text(COMMANDER_OPTIONS)
    mapped = settings_for(str(tmp_path), "npx tsx cli.ts -d $DATABASE_URL",
                          env={"EMBED_MODEL": "{model}", "OLLAMA_HOST": "{provider_url}"})
    assert outcome(check_contract(mapped, "c", caller_env={}), "command uses the model").status == PASS
    told = settings_for(str(tmp_path), "npx tsx cli.ts -d $DATABASE_URL -m nomic-embed-text")
    assert outcome(check_contract(told, "c", caller_env={}), "command uses the model").status == FAIL


def test_a_commander_options_default_url_is_the_flags_default_not_a_hard_coded_address():
    text = ("import { program } from 'commander';\n"
            "program.option('--ollama-url <url>', 'Ollama base URL', 'http://localhost:11434');\n")
    c = read_contract("src/cli.ts", text)
    assert c.hardcoded_urls == () and dict(c.flag_defaults) == {"--ollama-url": "http://localhost:11434"}, c


SUBCOMMAND_FLAGS = """import { program } from 'commander';

program
  .command('serve')
  .requiredOption('--port <n>', 'port to listen on')
  .option('--model <name>', 'chat model', 'llama3.2')
  .action(serve);

program
  .command('embed')
  .option('--embed-model <name>', 'embedding model', 'nomic-embed-text')
  .action(embed);

program.parse();
"""


def test_another_subcommands_flags_are_not_the_commands(tmp_path):
    """`cli.ts embed` was told it requires --port, `serve`'s flag: scope failed it for a flag it does not take."""
    from harness.locate.contract import command_contract

    (tmp_path / "cli.ts").write_text(SUBCOMMAND_FLAGS)
    embed = command_contract("npx tsx cli.ts embed", tmp_path)
    assert embed.required_flags == () and embed.flags == ("--embed-model",), embed
    serve = command_contract("npx tsx cli.ts serve", tmp_path)
    assert serve.required_flags == ("--port",) and "--embed-model" not in serve.flags, serve
    assert read_contract("cli.ts", SUBCOMMAND_FLAGS).required_flags == ("--port",)  # the file alone: all of them
