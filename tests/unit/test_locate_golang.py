"""locate reads a Go application: langchaingo's embedder and the model it is made with, and the `package main`
commands `go run` runs."""

from pathlib import Path

from harness.steps.locate import locate

EMBEDDER = '''package llm

import "github.com/tmc/langchaingo/llms/ollama"

type EmbedderConfig struct {
	Model   string
	BaseURL string
}

type Embedder struct {
	Embed *ollama.LLM
}

func NewEmbedder() Embedder {
	config := EmbedderConfig{
		Model:   "nomic-embed-text:latest",
		BaseURL: "http://localhost:11434",
	}
	emb, _ := ollama.New(ollama.WithModel(config.Model), ollama.WithServerURL(config.BaseURL))
	return Embedder{Embed: emb}
}

func (e *Embedder) FlattenEmbeddings(embeddings [][]float32) []float32 {
	return embeddings[0]
}
'''
INTERFACE = '''package types

import "context"

type Embedder interface {
	CreateEmbedding(ctx context.Context, texts []string) ([][]float32, error)
	FlattenEmbeddings(embeddings [][]float32) []float32
}
'''
CHAT = '''package llm

import "github.com/tmc/langchaingo/llms/ollama"

func NewChat() {
	llm, _ := ollama.New(ollama.WithModel("llama2"))
	_ = llm
}
'''
MAIN = '''package main

import "fmt"

func main() {
	fmt.Println("ingest")
}
'''


def app(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_a_langchaingo_ollama_embedder_names_the_model_its_config_field_is_given(tmp_path):
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n", "pkg/llm/embedder.go": EMBEDDER}))
    assert [(c.path, c.model, c.is_ollama) for c in found.embedding_calls] == [
        ("pkg/llm/embedder.go", "nomic-embed-text:latest", True)]


def test_go_method_definitions_and_interface_methods_are_no_embedding_calls(tmp_path):
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n", "internal/types/types.go": INTERFACE}))
    assert found.embedding_calls == ()


def test_a_langchaingo_ollama_llm_made_for_chat_only_is_no_embedder(tmp_path):
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n", "pkg/llm/chat.go": CHAT}))
    assert found.embedding_calls == ()


def test_a_package_main_under_cmd_is_an_entrypoint_run_with_go_run(tmp_path):
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n", "cmd/ingest/main.go": MAIN}))
    assert [(e.kind, e.command) for e in found.entrypoints] == [("go-main", "go run ./cmd/ingest")]


def test_a_go_file_of_another_package_with_a_main_function_is_no_entrypoint(tmp_path):
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n",
                                  "server/server.go": MAIN.replace("package main", "package server")}))
    assert found.entrypoints == ()


def test_a_langchaingo_embedder_made_with_options_made_beforehand_names_their_model(tmp_path):
    text = EMBEDDER.replace("emb, _ := ollama.New(ollama.WithModel(config.Model), ollama.WithServerURL(config.BaseURL))",
                            "modelOptions := ollama.WithModel(config.Model)\n\temb, _ := ollama.New(modelOptions)")
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n", "pkg/llm/embedder.go": text}))
    assert [c.model for c in found.embedding_calls] == ["nomic-embed-text:latest"]


OPENAI_CONSTANT = '''package documents

import (
	"context"

	"github.com/tmc/langchaingo/llms/openai"
)

const EmbeddingModel = "text-embedding-3-small"

func NewOpenAI() (*openai.LLM, error) {
	return openai.New(openai.WithModel("gpt-4o"), openai.WithEmbeddingModel(EmbeddingModel),
		openai.WithBaseURL(os.Getenv("OPENAI_BASE_URL")))
}

func CreateEmbedding(ctx context.Context, llm *openai.LLM, content string) ([][]float32, error) {
	return llm.CreateEmbedding(ctx, []string{content})
}
'''


def test_a_langchaingo_embedder_names_the_model_a_constant_gives_and_the_env_its_url_is_read_from(tmp_path):
    """`openai.WithEmbeddingModel(EmbeddingModel)` of `const EmbeddingModel = "..."` (qbart/pgvector-example), its
    base URL `os.Getenv("OPENAI_BASE_URL")`: read as a request's fields are (a constant, a variable, the environment)."""
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n", "internal/documents/openai.go": OPENAI_CONSTANT}))
    assert [(c.kind, c.model, c.model_env, c.url, c.url_env) for c in found.embedding_calls] == [
        ("openai", "text-embedding-3-small", None, None, "OPENAI_BASE_URL")]


def test_a_package_main_not_named_like_a_backfill_is_no_entrypoint(tmp_path):
    """An interactive chat loop on stdin (`cmd/cmd.go`): run as a backfill it reads EOF and exits 0, embedding nothing."""
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n", "cmd/cmd.go": MAIN}))
    assert found.entrypoints == ()


HTTP_CLIENT = '''package emb

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
)

type Ollama struct {
	BaseURL string
	Model   string
}

func NewOllama() *Ollama {
	return &Ollama{
		BaseURL: os.Getenv("OLLAMA_BASE_URL_EMB"),
		Model:   os.Getenv("OLLAMA_MODEL_EMB"),
	}
}

type request struct {
	Model string   `json:"model"`
	Input []string `json:"input"`
}

func (o *Ollama) Embed(text []string) error {
	body, _ := json.Marshal(request{
		Model: o.Model,
		Input: text,
	})
	resp, err := http.Post(o.BaseURL+"/api/embed", "application/json", bytes.NewBuffer(body))
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
'''


def test_an_ollama_http_call_names_the_env_its_clients_model_and_url_fields_are_read_from(tmp_path):
    """The request sends `Model: o.Model` to `o.BaseURL + "/api/embed"`; the constructor in the same file fills both
    fields from the environment: those are the names the embedder reads (the chat client's OLLAMA_MODEL is not)."""
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n", "internal/emb/embeddings.go": HTTP_CLIENT,
                                  "internal/llm/llm.go": 'package llm\n\nimport "os"\n\nvar model = os.Getenv("OLLAMA_MODEL")\n'}))
    assert [(c.path, c.kind, c.model, c.model_env, c.url, c.url_env) for c in found.embedding_calls] == [
        ("internal/emb/embeddings.go", "ollama-http", None, "OLLAMA_MODEL_EMB", None, "OLLAMA_BASE_URL_EMB")]


def test_an_ollama_http_call_whose_request_names_a_literal_or_a_constant_sends_that_model(tmp_path):
    text = HTTP_CLIENT.replace("Model: o.Model,", "Model: embedModel,") + '\nconst embedModel = "bge-m3"\n'
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n", "internal/emb/embeddings.go": text}))
    assert [(c.model, c.model_env) for c in found.embedding_calls] == [("bge-m3", None)]


COBRA_MAIN = '''package main

import "github.com/spf13/cobra"

func main() {
	root := &cobra.Command{Use: "recallr", Short: "RAG tools"}
	root.AddCommand(cmdChat())
	root.AddCommand(cmdIngest())
	_ = root.Execute()
}
'''
COBRA_INGEST = '''package main

import "github.com/spf13/cobra"

func cmdIngest() *cobra.Command {
	return &cobra.Command{
		Use:   "ingest",
		Short: "Ingest all .txt files from a directory",
		RunE:  func(cmd *cobra.Command, args []string) error { return nil },
	}
}
'''
COBRA_CHAT = COBRA_INGEST.replace("cmdIngest", "cmdChat").replace('"ingest"', '"chat [question]"').replace(
    "Ingest all .txt files from a directory", "Chat with your notes")


def test_a_cobra_subcommand_named_like_an_ingest_is_an_entrypoint_of_its_package_main(tmp_path):
    """`cmd/recallr` is named like nothing; its `ingest` subcommand (in another file of the package) is the command a
    user runs: `go run ./cmd/recallr ingest`. The chat subcommand is none."""
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n", "cmd/recallr/main.go": COBRA_MAIN,
                                  "cmd/recallr/ingest.go": COBRA_INGEST, "cmd/recallr/chat.go": COBRA_CHAT}))
    assert [(e.path, e.kind, e.command) for e in found.entrypoints] == [
        ("cmd/recallr/ingest.go", "go-main", "go run ./cmd/recallr ingest")]


def test_a_cobra_subcommand_of_a_package_that_is_not_main_is_no_entrypoint(tmp_path):
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n",
                                  "internal/cli/ingest.go": COBRA_INGEST.replace("package main", "package cli")}))
    assert found.entrypoints == ()


def test_a_go_commands_contract_reads_its_package_and_the_module_packages_it_imports(tmp_path):
    """`go run ./cmd/recallr ingest` builds every file of cmd/recallr and the packages of the module they import
    (`example.com/app/internal/emb` is internal/emb): their environment reads are the command's; a standard or
    third-party import is no file here."""
    ingest = COBRA_INGEST.replace('import "github.com/spf13/cobra"',
                                  'import (\n\t"example.com/app/internal/emb"\n\t"github.com/spf13/cobra"\n)') + \
        "\nvar _ = emb.NewOllama\n"
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n\ngo 1.22\n", "cmd/recallr/main.go": COBRA_MAIN,
                                  "cmd/recallr/ingest.go": ingest, "internal/emb/embeddings.go": HTTP_CLIENT,
                                  "internal/llm/llm.go": 'package llm\n\nimport "os"\n\nvar m = os.Getenv("OLLAMA_MODEL")\n'}))
    [entry] = found.entrypoints
    assert entry.contract is not None and entry.contract.known, entry.contract
    assert {"OLLAMA_MODEL_EMB", "OLLAMA_BASE_URL_EMB"} <= set(entry.contract.reads_env)
    assert "OLLAMA_MODEL" not in entry.contract.reads_env  # internal/llm is not imported by this command
    assert set(entry.contract.files) == {"cmd/recallr/ingest.go", "cmd/recallr/main.go", "internal/emb/embeddings.go"}
    assert [c.split(":")[0] for c in entry.contract.embedding_calls] == ["internal/emb/embeddings.go"]


def test_a_go_commands_flags_are_read_and_a_url_that_is_a_flags_default_is_no_hard_coded_address():
    """cobra's `root.PersistentFlags().StringVar(&api, "api", "http://localhost:11434", ...)` and the standard
    library's `flag.String(...)`: flags the command takes, each default overridable; the draft said to serve
    http://localhost:11434 "or change the code"."""
    from harness.locate.contract import read_contract

    text = ('package main\n\nimport (\n\t"flag"\n\t"github.com/spf13/cobra"\n)\n\nvar api string\n\nfunc main() {\n'
            '\troot := &cobra.Command{Use: "app"}\n'
            '\troot.PersistentFlags().StringVar(&api, "api", "http://localhost:11434", "Base URL for HTTP API")\n'
            '\troot.Flags().StringVarP(&api, "dir", "d", "doc", "Directory")\n'
            '\tmodel := flag.String("model", "bge-m3", "the model")\n\t_ = model\n'
            '\thttp.Get("http://localhost:9200/health")\n}\n')
    contract = read_contract("cmd/app/main.go", text)
    assert contract.flags == ("--api", "--dir", "--model")
    assert contract.flag_defaults == (("--api", "http://localhost:11434"), ("--dir", "doc"), ("--model", "bge-m3"))
    assert contract.flag_aliases == (("-d", "--dir"),)
    assert contract.hardcoded_urls == ("http://localhost:9200/health",)


OLLAMA_API_CLIENT = '''package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/ollama/ollama/api"
)

func generateEmbedding(input string) ([]float32, error) {
	ollamaHost := os.Getenv("OLLAMA_HOST")
	if ollamaHost == "" {
		ollamaHost = "localhost"
	}
	ollamaURL, err := url.Parse(fmt.Sprintf("http://%s:11434", ollamaHost))
	if err != nil {
		return nil, err
	}
	client := api.NewClient(ollamaURL, http.DefaultClient)
	req := &api.EmbedRequest{
		Model: "llama3.1", // an embedding-capable model
		Input: input,
	}
	resp, err := client.Embed(context.Background(), req)
	if err != nil {
		return nil, err
	}
	return resp.Embeddings[0], nil
}

func chat(query string) {
	client := api.NewClient(&url.URL{Scheme: "http", Host: "localhost:11434"}, http.DefaultClient)
	req := &api.ChatRequest{Model: "llama3.1:70b", Messages: []api.Message{{Role: "user", Content: query}}}
	_ = client.Chat(context.Background(), req, nil)
}
'''


def test_ollamas_own_go_client_embed_request_names_its_model_and_the_env_its_server_is_read_from(tmp_path):
    """`client.Embed(ctx, &api.EmbedRequest{Model: "llama3.1", ...})` of github.com/ollama/ollama/api: an Ollama
    embedder of that model, its server built from $OLLAMA_HOST (the chat request beside it is no embedder)."""
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n", "main.go": OLLAMA_API_CLIENT}))
    assert [(c.path, c.line, c.kind, c.model, c.model_env, c.url_env, c.is_ollama) for c in found.embedding_calls] == [
        ("main.go", 23, "ollama-client", "llama3.1", None, "OLLAMA_HOST", True)]


def test_ollamas_go_client_from_the_environment_with_the_older_embeddings_request_reads_the_model_env(tmp_path):
    """`api.ClientFromEnvironment()` reads OLLAMA_HOST; an aliased import's `EmbeddingRequest` (/api/embeddings) with
    `Model: os.Getenv("EMBED_MODEL")` sends that variable's model."""
    text = '''package store

import (
	"context"
	"os"

	ollama "github.com/ollama/ollama/api"
)

func Embed(ctx context.Context, text string) ([]float64, error) {
	client, err := ollama.ClientFromEnvironment()
	if err != nil {
		return nil, err
	}
	resp, err := client.Embeddings(ctx, &ollama.EmbeddingRequest{Model: os.Getenv("EMBED_MODEL"), Prompt: text})
	if err != nil {
		return nil, err
	}
	return resp.Embedding, nil
}
'''
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n", "internal/store/embed.go": text}))
    assert [(c.path, c.kind, c.model, c.model_env, c.url, c.url_env) for c in found.embedding_calls] == [
        ("internal/store/embed.go", "ollama-client", None, "EMBED_MODEL", None, "OLLAMA_HOST")]


def test_an_embed_request_type_of_another_package_than_ollamas_client_is_no_embedder(tmp_path):
    text = OLLAMA_API_CLIENT.replace('"github.com/ollama/ollama/api"', '"example.com/app/internal/api"')
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n", "main.go": text}))
    assert found.embedding_calls == ()


def test_a_url_a_format_verb_fills_the_host_of_is_no_hard_coded_address(tmp_path):
    """`fmt.Sprintf("http://%s:11434", host)`: the host is the variable's, not a server named "s"."""
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n", "main.go": OLLAMA_API_CLIENT}))
    assert [(s.line, s.value) for s in found.settings if s.name == "url"] == [(35, "localhost:11434")]
