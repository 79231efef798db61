"""locate reads a Rust binary's clap arguments as it reads argparse's: derive style (`#[arg(long, env = "X",
default_value = "y")]` on a `#[derive(Parser)]` struct's fields, clap 3's `#[clap(...)]`, structopt's) and builder style
(`Arg::new("model").long("model").env("X").default_value("y")`): each flag, its short name, the environment variable it
falls back to, its default and whether it is required; a default URL in an attribute is the flag's, not hard-coded."""

from harness.checks.outcome import FAIL, PASS
from harness.locate.contract import command_contract, read_contract
from harness.steps.contract_check import check_contract
from .test_contract_check import outcome, settings_for

DERIVE = '''use clap::Parser;

/// Backfill embeddings for every chunk.
#[derive(Parser, Debug)]
#[command(author, version, about)]
struct Args {
    /// Postgres connection string
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,

    /// Ollama's base URL
    #[arg(long, env = "OLLAMA_HOST", default_value = "http://localhost:11434")]
    ollama_host: String,

    /// The embedding model
    #[arg(short, long, default_value = "nomic-embed-text")]
    model: String,

    #[arg(long, default_value_t = 32)]
    batch_size: usize,

    #[arg(long)]
    table: String,

    #[arg(long)]
    dry_run: bool,

    #[arg(long)]
    limit: Option<i64>,
}

fn main() {
    let args = Args::parse();
}
'''


def test_a_clap_derive_structs_fields_are_its_flags():
    c = read_contract("src/main.rs", DERIVE)
    assert set(c.flags) == {"--database-url", "--ollama-host", "--model", "--batch-size", "--table", "--dry-run",
                            "--limit"}, c.flags
    assert c.flag_aliases == (("-m", "--model"),), c.flag_aliases


def test_a_clap_arguments_env_is_read_and_is_the_flags_fallback():
    c = read_contract("src/main.rs", DERIVE)
    assert {"DATABASE_URL", "OLLAMA_HOST"} <= set(c.reads_env), c.reads_env
    assert dict(c.flag_env) == {"--database-url": "DATABASE_URL", "--ollama-host": "OLLAMA_HOST"}, c.flag_env


def test_a_clap_arguments_string_default_is_the_flags_default_not_a_hard_coded_url():
    c = read_contract("src/main.rs", DERIVE)
    assert dict(c.flag_defaults) == {"--model": "nomic-embed-text"}, c.flag_defaults
    assert c.hardcoded_urls == (), c.hardcoded_urls


def test_a_clap_field_neither_optional_nor_defaulted_nor_from_the_environment_is_required():
    assert read_contract("src/main.rs", DERIVE).required_flags == ("--table",)


def test_clap_3_and_structopt_attributes_and_explicit_names_are_read():
    text = ('#[derive(StructOpt)]\nstruct Opt {\n    #[structopt(short = "m", long = "embed-model", default_value = "all-minilm")]\n'
            '    model_name: String,\n    #[clap(long, env)]\n    pg_url: Option<String>,\n}\n')
    c = read_contract("src/main.rs", text)
    assert c.flags == ("--embed-model", "--pg-url"), c.flags
    assert c.flag_aliases == (("-m", "--embed-model"),)
    assert dict(c.flag_defaults) == {"--embed-model": "all-minilm"}
    assert dict(c.flag_env) == {"--pg-url": "PG_URL"} and "PG_URL" in c.reads_env  # a bare `env`: the field's name


def test_a_clap_builders_arguments_are_read():
    text = ('fn cli() -> Command {\n    Command::new("backfill")\n'
            '        .arg(Arg::new("model").short(\'m\').long("model").default_value("nomic-embed-text"))\n'
            '        .arg(\n            Arg::new("ollama")\n                .long("ollama-url")\n'
            '                .env("OLLAMA_HOST")\n                .default_value("http://127.0.0.1:11434"),\n        )\n'
            '        .arg(Arg::new("dsn").long("dsn").required(true))\n        .arg(Arg::new("input"))\n}\n')
    c = read_contract("src/main.rs", text)
    assert c.flags == ("--model", "--ollama-url", "--dsn"), c.flags
    assert c.flag_aliases == (("-m", "--model"),)
    assert dict(c.flag_defaults) == {"--model": "nomic-embed-text"}
    assert dict(c.flag_env) == {"--ollama-url": "OLLAMA_HOST"} and "OLLAMA_HOST" in c.reads_env
    assert c.required_flags == ("--dsn",)
    assert c.hardcoded_urls == ()


def test_a_clap_attribute_in_a_comment_declares_nothing():
    text = '// #[arg(long, env = "OLD_URL")]\n// old_url: String,\nstruct A {\n    #[arg(long)]\n    model: String,\n}\n'
    c = read_contract("src/main.rs", text)
    assert c.flags == ("--model",) and "OLD_URL" not in c.reads_env, c


def test_a_rust_binarys_model_flag_is_judged_given_or_by_default(tmp_path):
    """`cargo run --release -- --model M` embeds M; without it, the default: scope judged neither (no flag was read)."""
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "backfill"\nversion = "0.1.0"\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.rs").write_text(DERIVE)
    plain = outcome(check_contract(settings_for(str(tmp_path), "cargo run --release -- --table chunks"), "c",
                                   caller_env={}), "command uses the model")
    assert plain.status == FAIL and "defaults to nomic-embed-text" in plain.found, plain
    told = outcome(check_contract(settings_for(str(tmp_path), "cargo run --release -- --table chunks --model all-minilm"),
                                  "c", caller_env={}), "command uses the model")
    assert told.status == PASS, told
    assert command_contract("cargo run --release -- --table chunks", tmp_path).required_flags == ("--table",)


def test_a_flag_before_cargo_runs_double_dash_is_cargos_own_not_the_binarys(tmp_path):
    """`cargo run --release --model M` hands --model to cargo, which refuses it: only what follows `--` is the
    binary's."""
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "backfill"\nversion = "0.1.0"\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.rs").write_text(DERIVE)
    before = command_contract("cargo run --release --model all-minilm", tmp_path)
    assert before.given_flags == () and before.given_flag_values == (), before
    after = command_contract("cargo run --release -- --model all-minilm", tmp_path)
    assert after.given_flag_values == (("--model", "all-minilm"),), after
    short = command_contract("cargo run --release -- -m all-minilm", tmp_path)  # clap's short name, after `--`
    assert short.given_flag_values == (("-m", "all-minilm"),), short


def test_the_model_flag_is_given_to_a_cargo_binary_after_a_double_dash():
    from harness.profile_draft import _with_flag

    assert _with_flag("cargo run --release", "--model", "all-minilm") == "cargo run --release -- --model all-minilm"
    assert _with_flag("cargo run --release -- --table t", "--model", "x") == "cargo run --release -- --table t --model x"


SUBCOMMANDS = '''use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Serve the search API
    Serve {
        #[arg(long, default_value_t = 3000)]
        port: u16,
    },
    /// Embed every chunk without a vector
    #[command(name = "reembed")]
    ReEmbedAll {
        #[arg(long, default_value = "nomic-embed-text")]
        model: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Commands::Serve { port } => serve(port).await?,
        Commands::ReEmbedAll { model } => {
            reembed(&model).await?;
        }
    }
    Ok(())
}

async fn serve(port: u16) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port)).await?;
    axum::serve(listener, app()).await?;
    Ok(())
}
'''


def _crate(tmp_path, main: str):
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "search"\nversion = "0.1.0"\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.rs").write_text(main)
    return tmp_path


def test_a_clap_subcommand_named_like_a_backfill_is_an_entrypoint_run_after_a_double_dash(tmp_path):
    """A crate whose name says nothing (`search`) with a `#[derive(Subcommand)]` variant that re-embeds: the entrypoint
    is `cargo run --release -- reembed` (the variant's kebab-case name, or its `#[command(name)]`); it was none."""
    from harness.steps.locate import locate

    root = _crate(tmp_path, SUBCOMMANDS)
    assert [(e.kind, e.command) for e in locate(root).entrypoints] == [("cargo-bin", "cargo run --release -- reembed")]


def test_a_rust_binarys_server_in_another_subcommands_arm_serves_nothing(tmp_path):
    """`cargo run -- reembed` runs the ReEmbedAll arm; axum::serve runs only in `serve`, the function the Serve arm
    calls: the binary was called a server whichever subcommand it was given."""
    root = _crate(tmp_path, SUBCOMMANDS)
    assert command_contract("cargo run --release -- reembed", root).serves == ""
    assert command_contract("cargo run --release -- serve --port 8080", root).serves == (
        "it starts a server (axum::serve at src/main.rs:38) and never exits")


def test_a_server_inline_in_another_subcommands_arm_serves_nothing(tmp_path):
    main = SUBCOMMANDS.replace("Commands::Serve { port } => serve(port).await?,",
                               "Commands::Serve { port } => {\n            axum::serve(listener(port).await?, app()).await?;\n        }")
    root = _crate(tmp_path, main)
    assert command_contract("cargo run --release -- reembed", root).serves == ""
    assert command_contract("cargo run --release -- serve", root).serves.startswith("it starts a server (axum::serve")


def test_another_clap_subcommands_required_flag_is_not_the_commands(tmp_path):
    root = _crate(tmp_path, SUBCOMMANDS.replace("#[arg(long, default_value_t = 3000)]", "#[arg(long)]"))
    assert command_contract("cargo run --release -- reembed", root).required_flags == ()
    assert command_contract("cargo run --release -- serve", root).required_flags == ("--port",)


def test_the_flags_of_a_struct_another_subcommand_wraps_are_not_the_commands(tmp_path):
    main = SUBCOMMANDS.replace('''    Serve {
        #[arg(long, default_value_t = 3000)]
        port: u16,
    },''', "    Serve(ServeArgs),").replace("Commands::Serve { port } => serve(port).await?,",
                                         "Commands::Serve(a) => serve(a.port).await?,")
    main += "\n#[derive(clap::Args)]\nstruct ServeArgs {\n    #[arg(long)]\n    port: u16,\n}\n"
    root = _crate(tmp_path, main)
    assert command_contract("cargo run --release -- reembed", root).required_flags == ()
    assert command_contract("cargo run --release -- serve", root).required_flags == ("--port",)
    assert command_contract("cargo run --release -- reembed", root).serves == ""
