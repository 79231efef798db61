"""locate tells an entrypoint that starts a server (or a watcher) and never exits from one that runs to completion:
``Contract.serves`` says why, from its command line or the code of the file it runs, in each language; such a command
is never the backfill a profile drafts, since run would wait for it until backfill.timeout_s."""

from pathlib import Path

import pytest

from harness.locate.contract import command_contract
from harness.steps.locate import locate


def app(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


FASTAPI_MAIN = '''import uvicorn
from fastapi import FastAPI

from app.embed import embed_all

app = FastAPI()


@app.post("/embed")
def embed(texts: list[str]):
    return embed_all(texts)


if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=8000)
'''


# -- Python ----------------------------------------------------------------------------------------------------------

def test_a_python_script_that_runs_uvicorn_in_its_main_block_serves(tmp_path):
    root = app(tmp_path, {"app/__init__.py": "", "app/embed.py": "def embed_all(t):\n    return t\n",
                          "app/main.py": FASTAPI_MAIN})
    assert command_contract("python app/main.py", root).serves == (
        "it starts a server (uvicorn.run at app/main.py:15) and never exits")


def test_a_batch_script_importing_the_fastapi_app_serves_nothing(tmp_path):
    # it imports the app's module (whose own __main__ block serves): importing runs no __main__ block
    root = app(tmp_path, {"app/__init__.py": "", "app/embed.py": "def embed_all(t):\n    return t\n",
                          "app/main.py": FASTAPI_MAIN,
                          "backfill.py": "from app.main import app\nfrom app.embed import embed_all\n\n"
                                         "if __name__ == '__main__':\n    embed_all(['a'])\n"})
    assert command_contract("python backfill.py", root).serves == ""


def test_a_cli_that_runs_its_async_main_serves_nothing(tmp_path):
    root = app(tmp_path, {"embed.py": "import asyncio\nimport subprocess\n\n\nasync def main():\n"
                                      "    subprocess.run(['true'])\n\n\nif __name__ == '__main__':\n"
                                      "    asyncio.run(main())\n"})
    assert command_contract("python embed.py", root).serves == ""


def test_a_server_in_a_function_the_script_never_calls_serves_nothing(tmp_path):
    root = app(tmp_path, {"embed.py": "import uvicorn\n\n\ndef serve(app):\n    uvicorn.run(app)\n\n\n"
                                      "def backfill():\n    pass\n\n\nif __name__ == '__main__':\n    backfill()\n"})
    assert command_contract("python embed.py", root).serves == ""


def test_a_server_the_main_block_reaches_through_the_scripts_functions_serves(tmp_path):
    root = app(tmp_path, {"server.py": "from flask import Flask\n\napp = Flask(__name__)\n\n\ndef main():\n"
                                       "    app.run(port=5000)\n\n\nif __name__ == '__main__':\n    main()\n"})
    assert command_contract("python server.py", root).serves == (
        "it starts a server (app.run at server.py:7) and never exits")


def test_an_mcp_server_run_from_its_module_serves(tmp_path):
    root = app(tmp_path, {"rag/__init__.py": "", "rag/mcp_index.py":
                          "from mcp.server.fastmcp import FastMCP\n\nmcp = FastMCP('rag')\n\n\n@mcp.tool()\n"
                          "def search(q: str) -> str:\n    return q\n\n\nif __name__ == '__main__':\n"
                          "    mcp.run(transport='stdio')\n"})
    assert command_contract("python -m rag.mcp_index", root).serves == (
        "it starts a server (mcp.run at rag/mcp_index.py:12) and never exits")


@pytest.mark.parametrize("code, call", [
    ("from app import create_app\n\napp = create_app()\n\nif __name__ == '__main__':\n    app.run(debug=True)\n", "app.run"),
    ("import asyncio\nfrom mcp.server.fastmcp import FastMCP\n\nmcp = FastMCP('docs')\n"
     "asyncio.run(mcp.run_stdio_async())\n", "mcp.run_stdio_async"),
    ("import gradio as gr\n\nwith gr.Blocks() as demo:\n    gr.Markdown('search')\n\ndemo.launch()\n", "demo.launch"),
])
def test_a_python_application_objects_own_run_serves(tmp_path, code, call):
    root = app(tmp_path, {"embed_app.py": code})
    assert command_contract("python embed_app.py", root).serves.startswith(f"it starts a server ({call} at embed_app.py:")


def test_a_server_named_in_a_comment_or_a_string_serves_nothing(tmp_path):
    root = app(tmp_path, {"embed.py": "# then: uvicorn.run(app)\nHELP = 'start it with uvicorn.run(app)'\n\n"
                                      "if __name__ == '__main__':\n    print(HELP)\n"})
    assert command_contract("python embed.py", root).serves == ""


def test_the_branch_of_another_action_than_the_one_given_serves_nothing(tmp_path):
    # `python rag.py build` runs the build branch; the serve branch runs only for `python rag.py serve`
    root = app(tmp_path, {"rag.py": "import sys\nimport uvicorn\n\n\ndef build():\n    pass\n\n\n"
                                    "if __name__ == '__main__':\n    action = sys.argv[1]\n"
                                    "    if action == 'build':\n        build()\n"
                                    "    elif action == 'serve':\n        uvicorn.run('rag:app')\n"})
    assert command_contract("python rag.py build", root).serves == ""
    assert command_contract("python rag.py serve", root).serves == (
        "it starts a server (uvicorn.run at rag.py:14) and never exits")


FLAG_GATED = """import argparse
import uvicorn

from app import app, backfill

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-s", "--serve", action="store_true", help="serve the search API instead")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    if args.serve:
        uvicorn.run(app, port=args.port)
    else:
        backfill()
"""


@pytest.mark.parametrize("command, serves", [("python main.py", False), ("python main.py --port 9000", False),
                                             ("python main.py --serve", True), ("python main.py -s", True),
                                             ("python main.py --serve=1", True)])
def test_a_server_behind_a_flag_serves_only_when_the_command_line_gives_the_flag(tmp_path, command, serves):
    root = app(tmp_path, {"app.py": "app = None\n\ndef backfill():\n    pass\n", "main.py": FLAG_GATED})
    assert command_contract(command, root).serves == (
        "it starts a server (uvicorn.run at main.py:12) and never exits" if serves else ""), command


@pytest.mark.parametrize("test, body, other", [
    ("not args.serve", "backfill()", "uvicorn.run(app)"),  # the server in the else branch of a negated flag
    ("args.serve and args.port", "uvicorn.run(app)", "backfill()"),  # the flag one of the conditions
    ("'--serve' in sys.argv", "uvicorn.run(app)", "backfill()"),  # read from sys.argv
])
def test_a_server_behind_a_flag_in_another_form_serves_only_given_it(tmp_path, test, body, other):
    code = ("import argparse, sys\nimport uvicorn\nfrom app import app, backfill\n\nparser = argparse.ArgumentParser()\n"
            "parser.add_argument('--serve', action='store_true')\nparser.add_argument('--port', type=int)\n"
            f"args = parser.parse_args()\nif {test}:\n    {body}\nelse:\n    {other}\n")
    root = app(tmp_path, {"app.py": "app = None\n\ndef backfill():\n    pass\n", "main.py": code})
    assert command_contract("python main.py", root).serves == ""
    assert command_contract("python main.py --serve --port 1", root).serves.startswith("it starts a server (uvicorn.run")


def test_a_click_commands_serve_flag_gates_its_server(tmp_path):
    code = ("import click\nimport uvicorn\n\n\n@click.command()\n@click.option('--serve', is_flag=True)\n"
            "def main(serve):\n    if serve:\n        uvicorn.run('app:app')\n        return\n    print('backfill')\n\n\n"
            "if __name__ == '__main__':\n    main()\n")
    root = app(tmp_path, {"cli.py": code})
    assert command_contract("python cli.py", root).serves == ""
    assert command_contract("python cli.py --serve", root).serves.startswith("it starts a server (uvicorn.run")


def test_a_server_behind_a_setting_that_is_no_flag_still_serves(tmp_path):
    # `settings.serve` is no command-line flag the file declares: whether it holds is not read here
    code = ("import uvicorn\nfrom config import settings\n\nif __name__ == '__main__':\n    if settings.serve:\n"
            "        uvicorn.run('app:app')\n")
    root = app(tmp_path, {"main.py": code})
    assert command_contract("python main.py", root).serves.startswith("it starts a server (uvicorn.run at main.py:6")


@pytest.mark.parametrize("command", ["uvicorn app.main:app --reload", "fastapi dev app/main.py", "flask run",
                                     "python manage.py runserver", "gunicorn app.main:app -k uvicorn.workers.UvicornWorker",
                                     "uv run uvicorn app.main:app", "streamlit run app.py",
                                     "celery -A app.tasks worker"])
def test_a_python_server_or_worker_command_serves(tmp_path, command):
    root = app(tmp_path, {"manage.py": "", "app.py": ""})
    serves = command_contract(command, root).serves
    assert serves.startswith("it starts a server (") and serves.endswith(") and never exits"), serves


# -- JavaScript and TypeScript ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("code, call", [
    ("import express from 'express';\nconst app = express();\napp.post('/embed', (req, res) => res.json([]));\n"
     "app.listen(3000);\n", "app.listen"),
    ("Bun.serve({ port: 3000, fetch() { return new Response('ok'); } });\n", "Bun.serve"),
    ("Deno.serve((_req) => new Response('ok'));\n", "Deno.serve"),
    ("import { serve } from '@hono/node-server';\nimport { app } from './app';\nserve({ fetch: app.fetch, port: 3000 });\n",
     "serve"),
    ("import { serve } from '@hono/node-server';\nimport app from './app';\n\nserve(app, (info) => console.log(info.port));\n",
     "serve"),
    ("import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';\n"
     "await server.connect(new StdioServerTransport());\n", "StdioServerTransport"),
])
def test_a_js_script_that_starts_a_server_serves(tmp_path, code, call):
    root = app(tmp_path, {"src/embed-server.ts": code})
    serves = command_contract("npx tsx src/embed-server.ts", root).serves
    assert serves.startswith(f"it starts a server ({call} at src/embed-server.ts:"), serves


HONO_APP = "import { Hono } from 'hono';\n\nconst app = new Hono();\napp.get('/', (c) => c.text('ok'));\n\n"


@pytest.mark.parametrize("code, said", [
    (HONO_APP + "export default app;\n", "export default app"),
    ("import { Hono } from 'hono';\nimport { instrument } from '@fiberplane/hono-otel';\n\nconst app = new Hono<{ Bindings: "
     "Env }>();\n\nexport default instrument(app);\n", "export default instrument(app)"),
    ("import { app } from './app';\n\nexport default {\n  port: 3000,\n  fetch: app.fetch,\n};\n", "export default { fetch }"),
    ("export default {\n  async fetch(req: Request) {\n    return new Response('ok');\n  },\n};\n", "export default { fetch }"),
])
def test_a_file_whose_default_export_is_a_fetch_handler_serves_when_bun_runs_it(tmp_path, code, said):
    """Bun serves the file it runs when its default export has a `fetch` (Hono's `export default app`); node and tsx
    run the same file to completion."""
    root = app(tmp_path, {"src/index.ts": code})
    line = code[:code.index("export default")].count("\n") + 1
    assert command_contract("bun run src/index.ts", root).serves == (
        f"it starts a server (Bun serving {said} at src/index.ts:{line}) and never exits")
    assert command_contract("npx tsx src/index.ts", root).serves == ""


@pytest.mark.parametrize("index, module", [
    ("import app from './app';\n\nexport default app;\n", HONO_APP + "export default app;\n"),
    ("import { app } from './app';\n\nexport default app;\n", HONO_APP.replace("const app", "export const app")),
    ("import { api as app } from './app';\n\nexport default app;\n", HONO_APP.replace("const app", "export const api")),
])
def test_a_fetch_app_imported_from_the_apps_own_module_and_default_exported_serves_when_bun_runs_it(
        tmp_path, index, module):
    root = app(tmp_path, {"src/index.ts": index, "src/app.ts": module})
    assert command_contract("bun run src/index.ts", root).serves == (
        "it starts a server (Bun serving export default app at src/index.ts:3, made in src/app.ts) and never exits")


def test_a_function_imported_and_default_exported_serves_nothing_under_bun(tmp_path):
    root = app(tmp_path, {"src/index.ts": "import main from './main';\n\nexport default main;\nawait main();\n",
                          "src/main.ts": "export default async function main() {\n  await embedAll();\n}\n"})
    assert command_contract("bun run src/index.ts", root).serves == ""


@pytest.mark.parametrize("code", [
    "export default async function main() {\n  await embedAll();\n}\nawait main();\n",
    "export default {\n  name: 'backfill',\n  async run() {\n    const res = await fetch(url);\n  },\n};\n",
    "import express from 'express';\nconst app = express();\nexport default app;\n",
])
def test_a_default_export_without_a_fetch_handler_serves_nothing_under_bun(tmp_path, code):
    root = app(tmp_path, {"scripts/embed.ts": code})
    assert command_contract("bun scripts/embed.ts", root).serves == ""


def test_a_package_script_running_a_hono_app_with_bun_serves_and_is_no_backfill(tmp_path):
    root = app(tmp_path, {"package.json": '{"scripts": {"embed:serve": "bun run src/embed.ts"}}',
                          "src/embed.ts": HONO_APP.replace("c.text('ok')", "c.json(await embed(c.req.query('q')))")
                          + "export default app;\n"})
    found = locate(root)
    assert found.best_entrypoint is None
    assert "Bun serving export default app at src/embed.ts:6" in found.entrypoints[0].contract.serves


def test_a_node_server_listening_on_the_server_it_creates_serves(tmp_path):
    root = app(tmp_path, {"server.js": "const http = require('http');\n\n"
                                       "http.createServer(handler).listen(process.env.PORT || 3000);\n"})
    assert command_contract("node server.js", root).serves.startswith("it starts a server (.listen at server.js:3"), \
        command_contract("node server.js", root).serves


COMMANDER_CLI = """import { Command } from 'commander';
import express from 'express';

const program = new Command();

program
  .command('embed')
  .description('backfill embeddings')
  .option('--model <name>', 'embedding model', 'nomic-embed-text')
  .action(async (opts) => {
    await backfill(opts);
  });

program
  .command('serve [port]')
  .action((port) => {
    const app = express();
    app.listen(Number(port ?? 3000));
  });

program.parse();
"""

YARGS_CLI = """import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import http from 'node:http';

yargs(hideBin(process.argv))
  .command('backfill', 'embed every chunk', (y) => y.option('model', { type: 'string' }), async (a) => {
    await run(a);
  })
  .command(['serve', 'api'], 'start the API', (y) => y.option('port', { default: 8080 }), (a) => {
    http.createServer(handler).listen(a.port);
  })
  .demandCommand(1)
  .parse();
"""


@pytest.mark.parametrize("code, line", [(COMMANDER_CLI, 18), (YARGS_CLI, 10)])
def test_a_js_clis_server_in_another_subcommand_than_the_one_given_serves_nothing(tmp_path, code, line):
    """commander's `program.command('serve').action(...)`, yargs' `.command('serve', ..., handler)`: the server starts
    only for that subcommand; `cli.ts embed` was called a server for the listen in `serve`'s action."""
    root = app(tmp_path, {"cli.ts": code})
    run = "embed" if "commander" in code else "backfill"
    assert command_contract(f"npx tsx cli.ts {run} --model all-minilm", root).serves == ""
    assert command_contract("npx tsx cli.ts", root).serves == ""  # no subcommand: it prints its help
    assert command_contract("npx tsx cli.ts serve", root).serves.startswith("it starts a server ("), code
    assert command_contract("npx tsx cli.ts serve", root).serves.endswith(f" at cli.ts:{line}) and never exits")


def test_a_js_clis_default_subcommand_that_serves_serves_when_none_is_given(tmp_path):
    root = app(tmp_path, {"cli.ts": YARGS_CLI.replace("['serve', 'api']", "['serve', '$0']")})
    assert command_contract("npx tsx cli.ts", root).serves.startswith("it starts a server (")
    assert command_contract("npx tsx cli.ts backfill", root).serves == ""


def test_a_js_backfill_that_awaits_its_work_serves_nothing(tmp_path):
    root = app(tmp_path, {"scripts/backfill.ts": "// not app.listen(3000): a script\n"
                                                 "const text = 'server.listen(3000)';\n"
                                                 "await main();\nprocess.exit(0);\n"})
    assert command_contract("npx tsx scripts/backfill.ts", root).serves == ""


def test_a_package_script_that_runs_a_dev_server_serves_and_says_where(tmp_path):
    root = app(tmp_path, {"package.json": '{\n  "scripts": {\n    "build": "next build",\n    "dev": "next dev"\n  }\n}\n'})
    assert command_contract("npm run dev", root).serves == (
        "it starts a server (next dev, package.json:4) and never exits")
    assert command_contract("npm run build", root).serves == ""


def test_a_script_run_under_a_file_watcher_never_exits(tmp_path):
    root = app(tmp_path, {"scripts/embed.ts": "await main();\n"})
    assert command_contract("npx tsx watch scripts/embed.ts", root).serves == (
        "it runs under a file watcher (tsx watch) and never exits")


# -- Go, Rust, .NET --------------------------------------------------------------------------------------------------

def test_a_go_main_that_listens_serves(tmp_path):
    root = app(tmp_path, {"cmd/indexer/main.go": 'package main\n\nimport "net/http"\n\nfunc main() {\n'
                                                 '\t// http.ListenAndServe(":1", nil) was the old way\n'
                                                 '\thttp.ListenAndServe(":8080", nil)\n}\n'})
    assert command_contract("go run ./cmd/indexer", root).serves == (
        "it starts a server (http.ListenAndServe at cmd/indexer/main.go:7) and never exits")


def test_a_go_main_that_runs_a_command_serves_nothing(tmp_path):
    root = app(tmp_path, {"cmd/backfill/main.go": 'package main\n\nimport "os/exec"\n\nfunc main() {\n'
                                                  '\texec.Command("true").Run()\n}\n'})
    assert command_contract("go run ./cmd/backfill", root).serves == ""


def test_a_rust_binary_that_serves_axum_serves(tmp_path):
    root = app(tmp_path, {"Cargo.toml": "[package]\nname = \"rag\"\n",
                          "src/main.rs": "#[tokio::main]\nasync fn main() {\n"
                                         "    let listener = tokio::net::TcpListener::bind(\"0.0.0.0:3000\").await.unwrap();\n"
                                         "    axum::serve(listener, app()).await.unwrap();\n}\n",
                          "src/bin/backfill.rs": "fn main() {\n    println!(\"axum::serve(\");\n}\n"})
    assert command_contract("cargo run", root).serves == (
        "it starts a server (axum::serve at src/main.rs:4) and never exits")
    assert command_contract("cargo run --bin backfill", root).serves == ""


def test_a_dotnet_web_application_serves(tmp_path):
    root = app(tmp_path, {"Api/Api.csproj": '<Project Sdk="Microsoft.NET.Sdk.Web"></Project>\n',
                          "Api/Program.cs": "var builder = WebApplication.CreateBuilder(args);\nvar app = builder.Build();\n"
                                            "app.MapPost(\"/embed\", () => \"ok\");\napp.Run();\n",
                          "Backfill/Backfill.csproj": '<Project Sdk="Microsoft.NET.Sdk"></Project>\n',
                          "Backfill/Program.cs": "await Embedder.RunAsync(args);\n"})
    assert command_contract("dotnet run --project Api", root).serves == (
        "it starts a server (WebApplication.CreateBuilder at Api/Program.cs:1) and never exits")
    assert command_contract("dotnet run --project Backfill", root).serves == ""


# -- PHP, Ruby, Elixir -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["php artisan serve", "php artisan queue:work", "bin/rails server",
                                     "bundle exec rails s", "mix phx.server"])
def test_a_php_ruby_or_elixir_server_or_worker_serves(tmp_path, command):
    root = app(tmp_path, {"artisan": "<?php\n", "config/application.rb": "module App; end\n", "bin/rails": ""})
    serves = command_contract(command, root).serves
    assert serves.startswith("it starts a server (") and serves.endswith(") and never exits"), serves


@pytest.mark.parametrize("code, call, line", [
    ("require 'sinatra'\nrequire 'pg'\n\nget '/search' do\n  'ok'\nend\n", "require 'sinatra'", 1),
    ("require 'rack'\nrequire_relative 'app'\n\nRack::Handler::Puma.run(App.new, Port: 3000)\n",
     "Rack::Handler::Puma.run", 4),
    ("require 'webrick'\nserver = WEBrick::HTTPServer.new(Port: 8000)\nserver.start\n", "WEBrick::HTTPServer.new", 2),
])
def test_a_ruby_script_that_starts_a_server_serves(tmp_path, code, call, line):
    root = app(tmp_path, {"app.rb": code})
    assert command_contract("bundle exec ruby app.rb", root).serves == (
        f"it starts a server ({call} at app.rb:{line}) and never exits")


def test_a_ruby_script_is_read_and_one_that_runs_to_completion_serves_nothing(tmp_path):
    root = app(tmp_path, {"backfill.rb": "require 'sinatra/base'\nrequire 'pg'\n\n"
                                         "conn = PG.connect(ENV.fetch('DATABASE_URL'))\n# not run!: a script\n"})
    contract = command_contract("ruby backfill.rb", root)
    assert contract.known and "DATABASE_URL" in contract.reads_env and contract.serves == "", contract


@pytest.mark.parametrize("code, call", [
    ("<?php\n$server = new Swoole\\Http\\Server('0.0.0.0', 9501);\n$server->start();\n", "Swoole\\Http\\Server"),
    ("<?php\nuse React\\Socket\\SocketServer;\n$socket = new React\\Socket\\SocketServer('0.0.0.0:8080');\n",
     "React\\Socket\\SocketServer"),
    ("<?php\nuse Workerman\\Worker;\n$w = new Worker('http://0.0.0.0:2345');\nWorker::runAll();\n", "Worker::runAll"),
])
def test_a_php_script_that_starts_a_server_serves(tmp_path, code, call):
    root = app(tmp_path, {"server.php": code})
    assert command_contract("php server.php", root).serves.startswith(f"it starts a server ({call} at server.php:")


def test_a_php_script_that_runs_to_completion_is_read_and_serves_nothing(tmp_path):
    root = app(tmp_path, {"bin/backfill.php": "<?php\n$pdo = new PDO(getenv('DATABASE_URL'));\n"
                                              "// new Swoole\\Http\\Server: not here\n"})
    contract = command_contract("php bin/backfill.php --batch 100", root)
    assert contract.known and "DATABASE_URL" in contract.reads_env and contract.serves == "", contract


def test_a_queue_worker_told_to_stop_when_empty_exits(tmp_path):
    root = app(tmp_path, {"artisan": "<?php\n"})
    assert command_contract("php artisan queue:work --stop-when-empty", root).serves == ""


# -- Spring Boot -----------------------------------------------------------------------------------------------------

RUNNER = """package com.example;

import org.springframework.boot.CommandLineRunner;
import org.springframework.stereotype.Component;

@Component
public class Loader implements CommandLineRunner {
    public void run(String... args) { }
}
"""
WEB_POM = ("<project>\n  <dependencies>\n    <dependency>\n"
           "      <artifactId>spring-boot-starter-web</artifactId>\n    </dependency>\n  </dependencies>\n</project>\n")


def test_a_spring_runner_of_a_web_application_serves(tmp_path):
    found = locate(app(tmp_path, {"pom.xml": WEB_POM, "src/main/java/com/example/Loader.java": RUNNER}))
    (entry,) = found.entrypoints
    assert entry.contract.serves == "it starts a web server (spring-boot-starter-web at pom.xml:4) and never exits"


def test_a_spring_runner_without_a_web_starter_runs_to_completion(tmp_path):
    found = locate(app(tmp_path, {"pom.xml": "<project><artifactId>spring-boot-starter</artifactId></project>\n",
                                  "src/main/java/com/example/Loader.java": RUNNER}))
    (entry,) = found.entrypoints
    assert entry.contract.serves == ""


def test_a_spring_web_application_told_to_start_no_web_server_runs_to_completion(tmp_path):
    found = locate(app(tmp_path, {"pom.xml": WEB_POM, "src/main/java/com/example/Loader.java": RUNNER,
                                  "src/main/resources/application.yml": "spring:\n  main:\n    web-application-type: none\n"}))
    (entry,) = found.entrypoints
    assert entry.contract.serves == ""


def test_a_spring_web_application_that_exits_after_its_runners_runs_to_completion(tmp_path):
    main = ("package com.example;\n\n@SpringBootApplication\npublic class Batch {\n"
            "    public static void main(String[] args) {\n"
            "        System.exit(SpringApplication.exit(SpringApplication.run(Batch.class, args)));\n    }\n}\n")
    found = locate(app(tmp_path, {"pom.xml": WEB_POM, "src/main/java/com/example/Loader.java": RUNNER,
                                  "src/main/java/com/example/Batch.java": main}))
    (entry,) = found.entrypoints
    assert entry.contract.serves == ""


# -- what locate and the draft make of it ----------------------------------------------------------------------------

def test_a_server_is_listed_but_never_the_best_entrypoint(tmp_path):
    found = locate(app(tmp_path, {"app/__init__.py": "", "app/embed.py": "def embed_all(t):\n    return t\n",
                                  "app/embed_server.py": FASTAPI_MAIN.replace("from app.embed", "from .embed"),
                                  "scripts/ingest_docs.py": "from app.embed import embed_all\n\n"
                                                            "if __name__ == '__main__':\n    embed_all([])\n"}))
    # the server ranks first by its name ("embed"): the batch ingest below it is the one drafted
    assert [e.command for e in found.entrypoints] == ["python -m app.embed_server", "python scripts/ingest_docs.py"]
    assert found.best_entrypoint is not None and found.best_entrypoint.command == "python scripts/ingest_docs.py"


def test_the_summary_says_a_server_is_no_backfill(tmp_path):
    adds = RUNNER.replace("{ }", "{ vectorStore.add(documents); }")
    text = locate(app(tmp_path, {"pom.xml": WEB_POM, "src/main/java/com/example/Loader.java": adds})).text()
    assert ("    it starts a web server (spring-boot-starter-web at pom.xml:4) and never exits: run would wait for it "
            "until backfill.timeout_s; a candidate only, the draft leaves it out") in text, text
    assert "no entrypoint runs to completion here: backfill with the harness's own engine" in text, text


def test_a_server_is_no_backfill_the_draft_may_name(tmp_path):
    from harness.profile_draft import _unreachable

    found = locate(app(tmp_path, {"pom.xml": WEB_POM, "src/main/java/com/example/Loader.java": RUNNER}))
    (entry,) = found.entrypoints
    assert _unreachable(entry.contract, "mxbai-embed-large") == (
        "it starts a web server (spring-boot-starter-web at pom.xml:4) and never exits")


def test_a_bun_entrys_import_before_a_long_run_of_blanks_is_read_in_linear_time():
    # `import\s+`, a lazy clause and `\s+from` split a run of blanks every way: 108 s for 5,000 spaces
    import time

    from harness.locate.serving import default_import

    started = time.monotonic()
    assert default_import("import" + " " * 5000 + "x\nexport default app;\n") is None
    assert time.monotonic() - started < 5
