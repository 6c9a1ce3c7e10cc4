/// Stops the program with `message` when `condition` is false.
///
/// Use it where `precondition` would go: `precondition` drops its message in
/// optimised builds, and a shape mismatch that traps without naming the two
/// shapes helps nobody. The condition is checked in every build.
@inlinable
@inline(__always)
public func ensure(
  _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String = "",
  file: StaticString = #fileID, line: UInt = #line
) {
  if _slowPath(!condition()) { ensureFailure(message(), file: file, line: line) }
}

/// The cold path of ``ensure(_:_:file:line:)``, kept out of line.
@inline(never)
public func ensureFailure(
  _ message: String, file: StaticString = #fileID, line: UInt = #line
) -> Never {
  fatalError(message, file: file, line: line)
}
