// JSON output with keys in a chosen order: the library's `OrderedJSON`, which
// the tasks' predictions are written in.

import BERT

/// A JSON value to print.
typealias JSONOut = OrderedJSON
