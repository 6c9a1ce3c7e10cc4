import BERT

print("bert: under construction")
