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


def test_a_package_main_not_named_like_a_backfill_is_no_entrypoint(tmp_path):
    """An interactive chat loop on stdin (`cmd/cmd.go`): run as a backfill it reads EOF and exits 0, embedding nothing."""
    found = locate(app(tmp_path, {"go.mod": "module example.com/app\n", "cmd/cmd.go": MAIN}))
    assert found.entrypoints == ()
