import Tensors

print("bert-bench: under construction")
