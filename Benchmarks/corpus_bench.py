#!/usr/bin/env python3
"""Embedding a mixed-length real corpus: `bert encode` against sentence-transformers.

The corpus is the demo's own data: the first 1,600 sentence-polarity training
sentences (short reviews) and 600 distinct SQuAD paragraphs, shuffled together
with a fixed seed, so that short and long texts alternate in the input. Both
sides embed it with all-MiniLM-L6-v2 from the asset cache (mean pooling,
normalised, cut at its max_seq_length of 256), batch 32, the same threads.

sentence-transformers sorts by length inside encode(); `bert encode` sorts each
window of its input. Ours is timed as the wall time of `bert encode` on the
corpus minus the same command on one line (process start and model load), so
that both times cover embedding only. The report gives both times, their
ratio, the padding share `bert encode --verbose` prints, and the cosine of
every embedding pair, at fp32 and at int8. `bert index` on the same corpus is
timed the same way (the retrieval issue's index-build target: the throughput
of `bert encode`), and its stored vectors are compared with `bert encode`'s.

    python3 Benchmarks/corpus_bench.py [--bert .build/release/bert] [--threads 2] [--json corpus.json]

Needs sentence-transformers (and torch) and the assets that `bert demo` uses
(`scripts/fetch-assets`).
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time


def corpus(bert, work):
    """1,600 polarity sentences and 600 SQuAD paragraphs, shuffled with seed 0."""
    data = os.path.join(work, "data")
    subprocess.run(
        [bert, "demo", "--export-data", data, "--tasks", "classification,qa"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(data, "classification", "train.jsonl")) as f:
        sentences = [json.loads(line)["text"] for line in f if line.strip()][:1600]
    paragraphs = []
    for name in ["train.json", "eval.json"]:
        with open(os.path.join(data, "qa", name)) as f:
            for article in json.load(f)["data"]:
                for paragraph in article["paragraphs"]:
                    if paragraph["context"] not in paragraphs:
                        paragraphs.append(paragraph["context"])
    texts = sentences + paragraphs[:600]
    texts = [" ".join(t.split()) for t in texts]  # one line each
    random.Random(0).shuffle(texts)
    return texts


def ours(bert, model, texts, threads, precision, work):
    path = os.path.join(work, "corpus.txt")
    with open(path, "w") as f:
        f.write("\n".join(texts) + "\n")
    one = os.path.join(work, "one.txt")
    with open(one, "w") as f:
        f.write(texts[0] + "\n")
    command = [bert, "encode", "--model", model, "--batch-size", "32", "--threads", str(threads),
               "--precision", precision, "--verbose"]

    def run(source):
        with open(source) as stdin:
            start = time.perf_counter()
            result = subprocess.run(command, stdin=stdin, capture_output=True, text=True, check=True)
            return time.perf_counter() - start, result

    run(one)  # warm the page cache
    startup = min(run(one)[0] for _ in range(3))
    seconds, result = run(path)
    vectors = [json.loads(line)["embedding"] for line in result.stdout.splitlines()]
    padding = [line for line in result.stderr.splitlines() if "padding" in line]
    return seconds - startup, startup, vectors, padding[-1] if padding else ""


def index(bert, model, texts, threads, work):
    """Seconds of `bert index` over the corpus (minus one text) and its stored vectors."""
    from safetensors.numpy import load_file

    path = os.path.join(work, "corpus.txt")  # written by ours()
    one = os.path.join(work, "one.txt")
    output = os.path.join(work, "corpus.index")

    def run(source):
        command = [bert, "index", "--model", model, "--corpus", source, "--output", output,
                   "--batch-size", "32", "--threads", str(threads)]
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, text=True, check=True)
        return time.perf_counter() - start

    run(one)  # warm the page cache
    startup = min(run(one) for _ in range(3))
    seconds = run(path)
    vectors = load_file(output)["vectors"]
    return seconds - startup, startup, vectors


def cosines(a, b):
    import numpy as np
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    dots = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return float(dots.min()), float(dots.mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bert", default=".build/release/bert")
    parser.add_argument("--model", default=None, help="default: all-MiniLM-L6-v2 in the asset cache")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="write the report here")
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    cache = os.environ.get("BERT_ASSETS") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "bert-swift", "assets")
    model = args.model or os.path.join(cache, "all-MiniLM-L6-v2")
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as work:
        texts = corpus(args.bert, work)
        st = SentenceTransformer(model, device="cpu")
        st.encode(texts[:64], batch_size=32)  # warm-up
        start = time.perf_counter()
        reference = st.encode(texts, batch_size=32)
        st_seconds = time.perf_counter() - start

        report = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "load_average": list(os.getloadavg()),
            "texts": len(texts), "threads": args.threads,
            "max_seq_length": st.max_seq_length,
            "sentence_transformers_seconds": st_seconds,
        }
        for precision in ["fp32", "int8"]:
            seconds, startup, vectors, padding = ours(
                args.bert, model, texts, args.threads, precision, work)
            worst, mean = cosines(vectors, reference)
            report[precision] = {
                "seconds": seconds, "startup_seconds": startup,
                "ratio_to_sentence_transformers": seconds / st_seconds,
                "worst_cosine": worst, "mean_cosine": mean, "padding": padding,
            }
            if precision == "fp32":
                encoded = vectors
        seconds, startup, stored = index(args.bert, model, texts, args.threads, work)
        worst, mean = cosines(stored, encoded)
        report["index"] = {
            "seconds": seconds, "startup_seconds": startup,
            "ratio_to_encode_fp32": seconds / report["fp32"]["seconds"],
            "worst_cosine_to_encode": worst, "mean_cosine_to_encode": mean,
        }
    text = json.dumps(report, indent=2)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    sys.exit(main())
