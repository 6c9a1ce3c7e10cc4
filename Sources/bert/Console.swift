// Writing to stdout and stderr, and turning every error into one clear line.

import ArgumentParser
import Foundation

/// A problem with what the user asked for, worded for the command line.
struct CLIError: Error, CustomStringConvertible {
  var description: String

  init(_ message: String) { description = message }
}

/// Output of the command: results on stdout, messages on stderr.
enum Console {
  /// Set on the ranks of a job other than rank 0, whose output would repeat its.
  nonisolated(unsafe) static var isSilent = false

  /// Writes a line to stdout (buffered by `FileHandle`, so written in order).
  static func out(_ line: String) {
    guard !isSilent else { return }
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
  }

  /// Writes a line to stderr; `always` writes it on every rank (errors).
  static func err(_ line: String, always: Bool = false) {
    guard always || !isSilent else { return }
    FileHandle.standardError.write(Data((line + "\n").utf8))
  }

  /// Whether stderr is a terminal (progress bars) rather than a file or a pipe.
  static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }
}

/// Runs a subcommand's body; any error becomes `bert <command>: error: <message>`
/// on stderr and exit status 1, never a stack trace.
func reportingErrors(_ command: String, _ body: () throws -> Void) throws {
  do {
    try body()
  } catch let exit as ExitCode {
    if !exit.isSuccess && Job.current != nil { Job.fail("bert \(command) exited with \(exit)") }
    throw exit
  } catch let interrupted as TrainingInterrupted {
    Console.err("bert \(command): \(interrupted)")
    throw ExitCode(130)
  } catch {
    // One rank of several: the others would wait for it, so the job ends.
    if Job.current != nil { Job.fail("bert \(command): error: \(describe(error))") }
    Console.err("bert \(command): error: \(describe(error))")
    throw ExitCode.failure
  }
}

/// The message of an error: its description when it has one (every library
/// error does), else Foundation's localized description with the path.
func describe(_ error: any Error) -> String {
  if let cocoa = error as? CocoaError { return foundationMessage(cocoa as NSError) }
  if type(of: error) is NSError.Type { return foundationMessage(error as NSError) }
  if let error = error as Any as? CustomStringConvertible { return error.description }
  return foundationMessage(error as NSError)
}

private func foundationMessage(_ error: NSError) -> String {
  var message = error.localizedDescription
  if let path = error.userInfo[NSFilePathErrorKey] as? String, !message.contains(path) {
    message += " (\(path))"
  }
  if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError {
    message += ": \(underlying.localizedDescription)"
  }
  return message
}
