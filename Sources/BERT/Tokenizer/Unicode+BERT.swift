// Character classes of BERT's basic tokenizer, on Unicode scalars.
//
// Each predicate mirrors the function of the same name in Hugging Face's
// `tokenization_python.py` (`_is_whitespace`, `_is_control`, `_is_punctuation`)
// and `BasicTokenizer._is_chinese_char` in `tokenization_bert.py`. Categories come
// from the Swift standard library's Unicode tables; Python's `unicodedata` may be
// an older Unicode version, so scalars assigned since then can differ (Python
// calls them unassigned, `Cn`, and drops them as control characters).

extension Unicode.Scalar {
  /// HF's `_is_whitespace`: space, tab, newline, carriage return, or category Zs.
  var isBertWhitespace: Bool {
    switch value {
    case 0x20, 0x09, 0x0A, 0x0D: return true
    case 0..<0x80: return false
    default: return properties.generalCategory == .spaceSeparator
    }
  }

  /// HF's `_is_control`: any category C* (Cc, Cf, Cs, Co, Cn) except tab, newline
  /// and carriage return, which count as whitespace.
  var isBertControl: Bool {
    switch value {
    case 0x09, 0x0A, 0x0D: return false
    case 0..<0x20, 0x7F: return true
    case 0x20..<0x7F: return false
    default:
      switch properties.generalCategory {
      case .control, .format, .surrogate, .privateUse, .unassigned: return true
      default: return false
      }
    }
  }

  /// HF's `_is_punctuation`: every non-alphanumeric printable ASCII scalar
  /// (33–47, 58–64, 91–96, 123–126), and every scalar of a Unicode P* category.
  var isBertPunctuation: Bool {
    switch value {
    case 33...47, 58...64, 91...96, 123...126: return true
    case 0..<0x80: return false
    default:
      switch properties.generalCategory {
      case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
        .initialPunctuation, .finalPunctuation, .otherPunctuation:
        return true
      default: return false
      }
    }
  }

  /// HF's `_is_chinese_char`: the CJK Unified Ideographs blocks and their
  /// extensions A–E and compatibility ideographs, with HF's exact ranges.
  var isChineseCharacter: Bool {
    switch value {
    case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
      0x2B740...0x2B81F, 0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
      return true
    default: return false
    }
  }

  /// Whether Python's `str.split()` splits here once the text is cleaned: the
  /// space (every other whitespace scalar has become one), and the line and
  /// paragraph separators U+2028 and U+2029 (categories Zl and Zp), which
  /// `_clean_text` keeps but `str.split()` treats as whitespace.
  var isPythonSplitWhitespace: Bool {
    value == 0x20 || value == 0x2028 || value == 0x2029
  }

  /// Category Mn (nonspacing mark): what HF's `_run_strip_accents` drops after NFD.
  var isNonspacingMark: Bool {
    value >= 0x300 && properties.generalCategory == .nonspacingMark
  }
}
