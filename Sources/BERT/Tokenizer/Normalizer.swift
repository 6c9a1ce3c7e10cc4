// The normalizers of a `tokenizer.json` that BERT-style tokenizers use, as the
// Hugging Face `tokenizers` library applies them (`tokenizers/src/normalizers`).
//
// Every step rewrites a ``NormalizedBuffer``: the normalized scalars, each with
// the half-open range of original scalars it stands for. The ranges follow the
// library's own bookkeeping (`NormalizedString::transform`), so that offsets
// agree with the fast tokenizer's even where they look odd:
// - a scalar that replaces one keeps that scalar's range;
// - an inserted scalar (the second half of a decomposition or of a lower-case
//   mapping, the spaces around a CJK ideograph, a replacement string) takes the
//   range of the last original scalar consumed so far;
// - composition (NFC, NFKC) is positional: a starter that absorbs k marks keeps
//   its own range and the next k ranges are dropped, whichever marks were absorbed.

import Foundation

/// One normalization step of a `tokenizer.json` (its `"normalizer"` object).
enum Normalizer: Sendable, Equatable {
  /// BERT's normalizer: cleaning, CJK spacing, accent stripping, lower-casing.
  /// `stripAccents` nil follows `lowercase`, as in the library.
  case bert(cleanText: Bool, handleChineseCharacters: Bool, stripAccents: Bool?, lowercase: Bool)
  case nfd, nfkd, nfc, nfkc
  /// Full lower-case mapping of each scalar, without context (Σ is always σ).
  case lowercase
  /// Removes every mark (categories Mn, Mc, Me); decomposes nothing.
  case stripAccents
  /// Replaces every occurrence of a literal string.
  case replace(pattern: [Unicode.Scalar], content: [Unicode.Scalar])
  /// Removes leading and/or trailing whitespace.
  case strip(left: Bool, right: Bool)
  /// Puts a string in front of non-empty text.
  case prepend([Unicode.Scalar])
  /// The steps in order.
  case sequence([Normalizer])

  /// Whether the normalizer lower-cases the text.
  var lowercases: Bool {
    switch self {
    case .bert(_, _, _, let lowercase): return lowercase
    case .lowercase: return true
    case .sequence(let steps): return steps.contains(where: \.lowercases)
    default: return false
    }
  }

  /// Normalizes `buffer` in place; `scratch` is reused storage.
  func apply(to buffer: inout NormalizedBuffer, scratch: inout NormalizedBuffer) {
    switch self {
    case .bert(let clean, let chinese, let strip, let lower):
      if clean { buffer.filterAndMap { BertNormalizerStep.clean($0) } }
      if chinese && buffer.scalars.contains(where: \.isChineseCharacter) {
        buffer.rewrite(into: &scratch) { scalar, emit in
          if scalar.isChineseCharacter {
            emit(" ", 0)
            emit(scalar, 1)
            emit(" ", 1)
          } else {
            emit(scalar, 0)
          }
        }
      }
      if strip ?? lower {
        Normalizer.nfd.apply(to: &buffer, scratch: &scratch)
        buffer.filterAndMap { $0.isNonspacingMark ? nil : $0 }
      }
      if lower { Normalizer.lowercase.apply(to: &buffer, scratch: &scratch) }
    case .nfd, .nfkd:
      guard buffer.scalars.contains(where: { $0.value >= 0xC0 }) else { return }
      UnicodeNormalization.decompose(
        &buffer, compatibility: self == .nfkd, compose: false, scratch: &scratch)
    case .nfc, .nfkc:
      guard buffer.scalars.contains(where: { $0.value >= 0xA0 }) else { return }
      UnicodeNormalization.decompose(
        &buffer, compatibility: self == .nfkc, compose: true, scratch: &scratch)
    case .lowercase:
      guard buffer.scalars.contains(where: { $0.value >= 0x80 }) else {
        buffer.filterAndMap { (65...90).contains($0.value) ? Unicode.Scalar($0.value + 32) : $0 }
        return
      }
      buffer.rewrite(into: &scratch) { scalar, emit in
        if scalar.value < 0x80 {
          emit((65...90).contains(scalar.value) ? Unicode.Scalar(scalar.value + 32)! : scalar, 0)
        } else if scalar.properties.changesWhenLowercased {
          for (k, lower) in scalar.properties.lowercaseMapping.unicodeScalars.enumerated() {
            emit(lower, k == 0 ? 0 : 1)
          }
        } else {
          emit(scalar, 0)
        }
      }
    case .stripAccents:
      // Every mark (Mn, Mc, Me), unlike BERT's normalizer, which drops Mn only.
      buffer.filterAndMap { $0.isMark ? nil : $0 }
    case .replace(let pattern, let content):
      buffer.replace(pattern, with: content, scratch: &scratch)
    case .strip(let left, let right):
      let scalars = buffer.scalars
      var start = 0
      var end = scalars.count
      if left { while start < end && scalars[start].isUnicodeWhitespace { start += 1 } }
      if right { while end > start && scalars[end - 1].isUnicodeWhitespace { end -= 1 } }
      buffer.keep(start..<end)
    case .prepend(let prefix):
      guard !buffer.scalars.isEmpty, !prefix.isEmpty else { return }
      // Inserted before the first scalar: the library gives it the first scalar's range.
      let start = buffer.starts[0]
      let end = buffer.ends[0]
      buffer.scalars.insert(contentsOf: prefix, at: 0)
      buffer.starts.insert(contentsOf: repeatElement(start, count: prefix.count), at: 0)
      buffer.ends.insert(contentsOf: repeatElement(end, count: prefix.count), at: 0)
    case .sequence(let steps):
      for step in steps { step.apply(to: &buffer, scratch: &scratch) }
    }
  }
}

/// The cleaning part of BERT's normalizer.
enum BertNormalizerStep {
  /// Drops NUL, U+FFFD and control characters; turns whitespace into a space.
  @inline(__always)
  static func clean(_ scalar: Unicode.Scalar) -> Unicode.Scalar? {
    switch scalar.value {
    case 0x09, 0x0A, 0x0D, 0x20: return " "
    case 0..<0x20, 0x7F: return nil
    case 0x21..<0x7F: return scalar
    default:
      if scalar.value == 0xFFFD || scalar.isBertControl { return nil }
      return scalar.isUnicodeWhitespace ? " " : scalar
    }
  }
}

extension Unicode.Scalar {
  /// General category Mark: Mn, Mc or Me.
  var isMark: Bool {
    guard value >= 0x300 else { return false }
    switch properties.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark: return true
    default: return false
    }
  }
}

// MARK: - Buffer edits with the library's alignment rules

extension NormalizedBuffer {
  /// The text `scalars[range]` (original scalar i at range i..<i+1).
  init(_ scalars: [Unicode.Scalar], range: Range<Int>) {
    self.scalars = Array(scalars[range])
    starts = Array(range)
    ends = range.map { $0 + 1 }
  }

  /// Keeps the scalars for which `transform` gives a scalar, replaced by it;
  /// each keeps its own range.
  mutating func filterAndMap(_ transform: (Unicode.Scalar) -> Unicode.Scalar?) {
    var kept = 0
    for k in 0..<scalars.count {
      guard let scalar = transform(scalars[k]) else { continue }
      scalars[kept] = scalar
      starts[kept] = starts[k]
      ends[kept] = ends[k]
      kept += 1
    }
    let removed = scalars.count - kept
    if removed > 0 {
      scalars.removeLast(removed)
      starts.removeLast(removed)
      ends.removeLast(removed)
    }
  }

  /// Keeps `range` only.
  mutating func keep(_ range: Range<Int>) {
    guard range.count != scalars.count else { return }
    scalars = Array(scalars[range])
    starts = Array(starts[range])
    ends = Array(ends[range])
  }

  /// Rewrites every scalar through `body`, which emits its replacement as
  /// (scalar, change): change 0 takes the scalar's own range, 1 marks an
  /// inserted scalar, which takes the range of the scalar being rewritten.
  mutating func rewrite(
    into scratch: inout NormalizedBuffer,
    _ body: (Unicode.Scalar, (Unicode.Scalar, Int) -> Void) -> Void
  ) {
    scratch.removeAll()
    for k in 0..<scalars.count {
      let start = starts[k]
      let end = ends[k]
      body(scalars[k]) { scalar, _ in scratch.append(scalar, start, end) }
    }
    swap(&self, &scratch)
  }

  /// Applies (scalar, change) pairs positionally, as the library's
  /// `transform` does: change 0 replaces the next original scalar and takes its
  /// range; -n also drops the n scalars after it; +1 inserts a scalar with the
  /// range of the last scalar consumed.
  mutating func transform(
    _ changes: [(scalar: Unicode.Scalar, change: Int)], scratch: inout NormalizedBuffer
  ) {
    scratch.removeAll()
    var offset = 0
    for (scalar, change) in changes {
      if change > 0 {
        if offset == 0 {
          scratch.append(scalar, 0, 0)
        } else {
          scratch.append(scalar, starts[offset - 1], ends[offset - 1])
        }
      } else {
        scratch.append(scalar, starts[offset], ends[offset])
        offset += 1 - change
      }
    }
    swap(&self, &scratch)
  }

  /// Replaces each leftmost occurrence of `pattern` by `content`; the
  /// replacement takes the range of the last scalar it replaces.
  mutating func replace(
    _ pattern: [Unicode.Scalar], with content: [Unicode.Scalar], scratch: inout NormalizedBuffer
  ) {
    guard !pattern.isEmpty, scalars.count >= pattern.count else { return }
    scratch.removeAll()
    var k = 0
    var changed = false
    while k < scalars.count {
      if k + pattern.count <= scalars.count
        && scalars[k..<k + pattern.count].elementsEqual(pattern)
      {
        let last = k + pattern.count - 1
        for scalar in content { scratch.append(scalar, starts[last], ends[last]) }
        k += pattern.count
        changed = true
      } else {
        scratch.append(scalars[k], starts[k], ends[k])
        k += 1
      }
    }
    if changed { swap(&self, &scratch) }
  }
}

// MARK: - Unicode normalization forms with alignment

/// NFD, NFKD, NFC and NFKC of a buffer, with the alignment bookkeeping of the
/// library's Unicode normalization (decomposition, canonical reordering that
/// moves each scalar's change with it, then canonical composition).
enum UnicodeNormalization {
  static func decompose(
    _ buffer: inout NormalizedBuffer, compatibility: Bool, compose: Bool,
    scratch: inout NormalizedBuffer
  ) {
    var changes: [(scalar: Unicode.Scalar, change: Int)] = []
    changes.reserveCapacity(buffer.scalars.count + 8)
    var unchanged = true
    for scalar in buffer.scalars {
      let parts = decomposition(of: scalar, compatibility: compatibility)
      if parts.count != 1 || parts[0] != scalar { unchanged = false }
      for (k, part) in parts.enumerated() { changes.append((part, k == 0 ? 0 : 1)) }
    }
    if reorder(&changes) { unchanged = false }
    if compose, composeCanonically(&changes) { unchanged = false }
    guard !unchanged else { return }
    buffer.transform(changes, scratch: &scratch)
  }

  /// The full decomposition of one scalar.
  static func decomposition(of scalar: Unicode.Scalar, compatibility: Bool) -> [Unicode.Scalar] {
    if scalar.value < 0xA0 { return [scalar] }
    if !compatibility { return Decomposition.canonical(scalar) }
    let text = String(String.UnicodeScalarView([scalar]))
    return Array(text.decomposedStringWithCompatibilityMapping.unicodeScalars)
  }

  /// Canonical ordering: a stable sort of each run of non-starters by
  /// combining class. Returns whether anything moved.
  static func reorder(_ changes: inout [(scalar: Unicode.Scalar, change: Int)]) -> Bool {
    var moved = false
    var k = 0
    while k < changes.count {
      guard combiningClass(changes[k].scalar) != 0 else {
        k += 1
        continue
      }
      var end = k + 1
      while end < changes.count && combiningClass(changes[end].scalar) != 0 { end += 1 }
      if end - k > 1 {
        let run = changes[k..<end].enumerated().sorted {
          let a = combiningClass($0.element.scalar)
          let b = combiningClass($1.element.scalar)
          return a != b ? a < b : $0.offset < $1.offset
        }
        if run.map(\.offset) != Array(0..<run.count) {
          moved = true
          changes.replaceSubrange(k..<end, with: run.map(\.element))
        }
      }
      k = end
    }
    return moved
  }

  /// Canonical composition (Unicode §3.11): a scalar that is not blocked from
  /// the last starter and forms a primary composite with it is absorbed, and
  /// the starter's change drops by one less than the absorbed scalar's.
  static func composeCanonically(_ changes: inout [(scalar: Unicode.Scalar, change: Int)]) -> Bool {
    var output: [(scalar: Unicode.Scalar, change: Int)] = []
    output.reserveCapacity(changes.count)
    var starter: Int?
    var lastClass = 0
    var composed = false
    for item in changes {
      let itemClass = combiningClass(item.scalar)
      if let s = starter {
        let adjacent = s == output.count - 1
        if adjacent || (lastClass != 0 && lastClass < itemClass),
          let primary = primaryComposite(output[s].scalar, item.scalar)
        {
          output[s].scalar = primary
          output[s].change += item.change - 1
          composed = true
          continue
        }
      }
      if itemClass == 0 { starter = output.count }
      lastClass = itemClass
      output.append(item)
    }
    if composed { changes = output }
    return composed
  }

  static func combiningClass(_ scalar: Unicode.Scalar) -> Int {
    scalar.value < 0x300 ? 0 : Int(scalar.properties.canonicalCombiningClass.rawValue)
  }

  /// The primary composite of two scalars, if there is one.
  static func primaryComposite(_ a: Unicode.Scalar, _ b: Unicode.Scalar) -> Unicode.Scalar? {
    // Every second half of a primary composite (marks, Hangul jamo) is at U+0300 or above.
    if b.value < 0x300 { return nil }
    // Hangul by the algorithm of Unicode §3.12 (Foundation composes L+V but
    // not LV+T on every platform).
    switch (a.value, b.value) {
    case (0x1100...0x1112, 0x1161...0x1175):
      return Unicode.Scalar(0xAC00 + ((a.value - 0x1100) * 21 + (b.value - 0x1161)) * 28)
    case (0xAC00...0xD7A3, 0x11A8...0x11C2) where (a.value - 0xAC00) % 28 == 0:
      return Unicode.Scalar(a.value + (b.value - 0x11A7))
    case (0x1100...0x11FF, _), (0xAC00...0xD7A3, _): return nil
    default: break
    }
    let pair = String(String.UnicodeScalarView([a, b])).precomposedStringWithCanonicalMapping
    let scalars = pair.unicodeScalars
    guard scalars.count == 1, let composite = scalars.first else { return nil }
    return composite
  }
}
