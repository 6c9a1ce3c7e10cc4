#!/usr/bin/env python3
"""Peak memory of inference: a float32 directory against its `bert quantize` copy.

For each model, `bert quantize` writes the int8 directory, and one `bert encode`
process per (directory, input) is measured with `/usr/bin/time -f %M` (peak
RSS of the process, in KB). The int8 issue's target is int8 / fp32 ≤ 0.4.

Models:
- minilm: all-MiniLM-L6-v2 from the asset cache (22.7 M parameters);
- base: a BERT-base (12 layers, hidden 768, 110 M parameters) with random
  weights (torch seed 0), saved by transformers with the MiniLM directory's
  vocabulary and tokenizer files (the same uncased WordPiece vocabulary as
  bert-base-uncased), since no BERT-base checkpoint is among the assets.

Inputs: one line; the first 200 polarity sentences of the demo's data
(`bert demo --export-data`); with --corpus also the mixed corpus of
corpus_bench.py. Memory does not depend on the load.

    python3 Benchmarks/memory_bench.py [--bert .build/release/bert] [--models minilm,base] [--json memory.json]

Needs torch and transformers for the base model, and the demo's assets.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from corpus_bench import asset_model, corpus, demo_data, polarity_sentences


def random_base(minilm, directory):
    """A BERT-base with random weights, seed 0, and MiniLM's tokenizer files."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                        num_attention_heads=12, intermediate_size=3072)
    BertModel(config).eval().save_pretrained(directory, safe_serialization=True)
    for name in ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
        source = os.path.join(minilm, name)
        if os.path.exists(source):
            shutil.copy(source, directory)


def peak_rss_mb(bert, model, text_file):
    """Peak RSS of one `bert encode` process on `text_file`, in MB."""
    with open(text_file) as stdin:
        result = subprocess.run(
            ["/usr/bin/time", "-f", "%M", bert, "encode", "--model", model],
            stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    return int(result.stderr.strip().splitlines()[-1]) / 1024


def weight_mb(directory):
    return sum(os.path.getsize(os.path.join(directory, f))
               for f in os.listdir(directory) if f.endswith(".safetensors")) / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bert", default=".build/release/bert")
    parser.add_argument("--models", default="minilm,base")
    parser.add_argument("--corpus", action="store_true", help="also the mixed corpus of corpus_bench.py")
    parser.add_argument("--json", help="write the report here")
    args = parser.parse_args()
    bert = os.path.abspath(args.bert)
    minilm = asset_model()
    if not os.path.exists(os.path.join(minilm, "model.safetensors")):
        sys.exit(f"memory_bench.py: {minilm} has no model.safetensors; run scripts/fetch-assets")

    work = tempfile.mkdtemp(prefix="memory-bench-")
    try:
        inputs = {}
        one = os.path.join(work, "one.txt")
        with open(one, "w") as f:
            f.write("A cat sat on the mat.\n")
        inputs["one line"] = one
        two_hundred = os.path.join(work, "sentences.txt")
        with open(two_hundred, "w") as f:
            f.write("\n".join(polarity_sentences(demo_data(bert, work), 200)) + "\n")
        inputs["200 polarity sentences"] = two_hundred
        if args.corpus:
            path = os.path.join(work, "corpus.txt")
            with open(path, "w") as f:
                f.write("\n".join(corpus(bert, work)) + "\n")
            inputs["mixed corpus, 2,200 texts"] = path

        report = {"models": {}}
        for name in args.models.split(","):
            if name == "minilm":
                fp32 = minilm
            elif name == "base":
                fp32 = os.path.join(work, "base")
                random_base(minilm, fp32)
            else:
                sys.exit(f"memory_bench.py: --models: unknown model '{name}' (minilm, base)")
            int8 = os.path.join(work, name + "-int8")
            subprocess.run([bert, "quantize", "--model", fp32, "--output", int8],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            rows = {}
            for label, path in inputs.items():
                a = peak_rss_mb(bert, fp32, path)
                b = peak_rss_mb(bert, int8, path)
                rows[label] = {"fp32_mb": round(a, 1), "int8_mb": round(b, 1), "ratio": round(b / a, 3)}
                print(f"{name:7s} {label:28s} fp32 {a:7.1f} MB  int8 {b:7.1f} MB  ratio {b / a:.2f}",
                      flush=True)
            report["models"][name] = {
                "weights_mb": {"fp32": round(weight_mb(fp32), 1), "int8": round(weight_mb(int8), 1)},
                "peak_rss": rows,
            }
        if args.json:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=2)
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
