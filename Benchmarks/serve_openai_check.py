#!/usr/bin/env python3
"""Checks a running `bert serve` with the OpenAI Python client.

    bert serve --model <all-MiniLM-L6-v2 directory> &
    python3 Benchmarks/serve_openai_check.py --url http://127.0.0.1:8080/v1 \
        [--compare <the same model directory>]

Sends /v1/embeddings requests through `openai.OpenAI(base_url=...)`: a string,
a list, encoding_format float and base64 (the client's default, which it
decodes itself), and `dimensions`. Checks the shapes, the indices, the usage,
that float and base64 give the same numbers, that `dimensions` gives unit
vectors equal to the renormalised head of the full ones, and that a bad
request raises the client's BadRequestError/UnprocessableEntityError with the
server's message. With --compare, also checks the cosine against
sentence-transformers on the same directory (at least 0.9999). Exits 1 on
the first failed check.
"""

import argparse
import math
import sys

import openai

SENTENCES = [
    "A man is playing a guitar.",
    "The new movie is awesome!",
    "It was a dark and stormy night, and the rain fell in torrents.",
]


def check(condition, message):
    if not condition:
        print(f"FAIL: {message}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {message}")


def norm(vector):
    return math.sqrt(sum(x * x for x in vector))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8080/v1")
    parser.add_argument("--compare", help="the model directory, for sentence-transformers")
    args = parser.parse_args()
    client = openai.OpenAI(base_url=args.url, api_key="not-needed")

    single = client.embeddings.create(model="bert", input=SENTENCES[0])
    check(len(single.data) == 1 and single.data[0].index == 0, "a string gives one embedding")
    width = len(single.data[0].embedding)
    check(width > 0, f"the embedding has {width} values")

    floats = client.embeddings.create(model="bert", input=SENTENCES, encoding_format="float")
    base64 = client.embeddings.create(model="bert", input=SENTENCES)  # the client's base64
    check([d.index for d in floats.data] == [0, 1, 2], "indices in input order")
    check(floats.object == "list" and floats.data[0].object == "embedding", "object names")
    check(floats.usage.prompt_tokens > 0 and floats.usage.total_tokens == floats.usage.prompt_tokens,
          f"usage {floats.usage.prompt_tokens} tokens")
    largest = max(abs(a - b) for f, b64 in zip(floats.data, base64.data)
                  for a, b in zip(f.embedding, b64.embedding))
    check(largest <= 1e-6, f"float and base64 agree (largest difference {largest:.2e})")

    short = client.embeddings.create(model="bert", input=SENTENCES, dimensions=64,
                                     encoding_format="float")
    for full, cut in zip(floats.data, short.data):
        head = full.embedding[:64]
        scale = norm(head)
        difference = max(abs(a / scale - b) for a, b in zip(head, cut.embedding))
        check(len(cut.embedding) == 64 and abs(norm(cut.embedding) - 1) < 1e-5 and difference < 1e-5,
              f"dimensions=64: unit vector, the renormalised head (largest difference {difference:.2e})")

    try:
        client.embeddings.create(model="bert", input=[])
        check(False, "an empty input list is refused")
    except (openai.BadRequestError, openai.UnprocessableEntityError) as error:
        check(error.status_code == 422 and "empty" in str(error), f"empty input: {error.status_code}")

    if args.compare:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(args.compare, device="cpu")
        reference = model.encode(SENTENCES)
        for served, expected in zip(floats.data, reference):
            dot = sum(float(a) * float(b) for a, b in zip(served.embedding, expected))
            cosine = dot / (norm(served.embedding) * norm([float(x) for x in expected]))
            check(cosine >= 0.9999, f"cosine with sentence-transformers {cosine:.7f}")
    print("all checks passed")


if __name__ == "__main__":
    main()
