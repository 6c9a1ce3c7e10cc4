// The `bert` command: run and fine-tune BERT models on the CPU.

import ArgumentParser
import BERT

@main
struct Bert: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bert",
    abstract: "Run and fine-tune BERT models on the CPU (OpenBLAS or pure Swift).",
    discussion: """
      Every subcommand takes --backend openblas|swift and --threads N (defaults: \
      BERT_BACKEND and BERT_NUM_THREADS, else the fastest backend and every core). \
      Commands that read a model take --model DIR, a Hugging Face model directory \
      (config.json, vocab.txt, and model.safetensors or a sharded \
      model.safetensors.index.json with its shards); without it they use the pretrained \
      all-MiniLM-L6-v2 from the asset cache (scripts/fetch-assets model, or bert demo, \
      puts it there).

      Examples:
        bert demo --quick                      fine-tune the demo tasks on small subsets
        bert info
        echo "Hello world" | bert tokenize
        echo "Hello world" | bert encode --pooling mean
        bert finetune --task classification --train train.csv --dev dev.csv --output runs/sst
        bert evaluate --model runs/sst --data test.csv
        echo "a fine film" | bert predict --model runs/sst
        bert index --corpus corpus.jsonl --output corpus.index
        echo "who wrote hamlet" | bert search --index corpus.index
      """,
    version: "0.1.0",
    subcommands: [
      Info.self, Tokenize.self, Encode.self, Finetune.self, Evaluate.self, Predict.self,
      Quantize.self, Serve.self, Index.self, Search.self, Demo.self,
    ])
}
