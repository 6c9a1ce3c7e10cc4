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


def asset_model():
    """all-MiniLM-L6-v2 in the asset cache, where `scripts/fetch-assets` puts it."""
    cache = os.environ.get("BERT_ASSETS") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "bert-swift", "assets")
    return os.path.join(cache, "all-MiniLM-L6-v2")


def demo_data(bert, work):
    """The demo's classification and QA splits, exported once into work/data."""
    data = os.path.join(work, "data")
    if not os.path.isdir(data):
        subprocess.run(
            [bert, "demo", "--export-data", data, "--tasks", "classification,qa"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return data


def polarity_sentences(data, count):
    """The first `count` polarity training sentences, one line each."""
    with open(os.path.join(data, "classification", "train.jsonl")) as f:
        sentences = [json.loads(line)["text"] for line in f if line.strip()][:count]
    return [" ".join(s.split()) for s in sentences]


def corpus(bert, work):
    """1,600 polarity sentences and 600 SQuAD paragraphs, shuffled with seed 0."""
    data = demo_data(bert, work)
    paragraphs = []
    for name in ["train.json", "eval.json"]:
        with open(os.path.join(data, "qa", name)) as f:
            for article in json.load(f)["data"]:
                for paragraph in article["paragraphs"]:
                    if paragraph["context"] not in paragraphs:
                        paragraphs.append(paragraph["context"])
    texts = polarity_sentences(data, 1600) + [" ".join(p.split()) for p in paragraphs[:600]]
    random.Random(0).shuffle(texts)
    return texts


def net_seconds(run, one, path):
    """Wall time of run(path) minus the fastest of three run(one): embedding only.

    `run(source)` returns (seconds, result); the result of run(path) is returned too.
    """
    run(one)  # warm the page cache
    startup = min(run(one)[0] for _ in range(3))
    seconds, result = run(path)
    return seconds - startup, startup, result


def ours(bert, model, threads, precision, one, path):
    """Seconds of `bert encode` over the corpus, its vectors and its padding line."""
    command = [bert, "encode", "--model", model, "--batch-size", "32", "--threads", str(threads),
               "--precision", precision, "--verbose"]

    def run(source):
        with open(source) as stdin:
            start = time.perf_counter()
            result = subprocess.run(command, stdin=stdin, capture_output=True, text=True, check=True)
            return time.perf_counter() - start, result

    seconds, startup, result = net_seconds(run, one, path)
    vectors = [json.loads(line)["embedding"] for line in result.stdout.splitlines()]
    padding = [line for line in result.stderr.splitlines() if "padding" in line]
    return seconds, startup, vectors, padding[-1] if padding else ""


def index(bert, model, threads, one, path, output):
    """Seconds of `bert index` over the corpus and its stored vectors."""
    from safetensors.numpy import load_file

    def run(source):
        command = [bert, "index", "--model", model, "--corpus", source, "--output", output,
                   "--batch-size", "32", "--threads", str(threads)]
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, text=True, check=True)
        return time.perf_counter() - start, None

    seconds, startup, _ = net_seconds(run, one, path)
    return seconds, startup, load_file(output)["vectors"]


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

    model = args.model or asset_model()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as work:
        texts = corpus(args.bert, work)
        path = os.path.join(work, "corpus.txt")
        with open(path, "w") as f:
            f.write("\n".join(texts) + "\n")
        one = os.path.join(work, "one.txt")
        with open(one, "w") as f:
            f.write(texts[0] + "\n")
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
                args.bert, model, args.threads, precision, one, path)
            worst, mean = cosines(vectors, reference)
            report[precision] = {
                "seconds": seconds, "startup_seconds": startup,
                "ratio_to_sentence_transformers": seconds / st_seconds,
                "worst_cosine": worst, "mean_cosine": mean, "padding": padding,
            }
            if precision == "fp32":
                encoded = vectors
        seconds, startup, stored = index(
            args.bert, model, args.threads, one, path, os.path.join(work, "corpus.index"))
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
