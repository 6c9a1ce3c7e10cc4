/// Linear warm-up from 0 to the peak rate, then linear decay to 0, as
/// Hugging Face's `get_linear_schedule_with_warmup`.
public struct LinearSchedule: Sendable, Equatable {
  /// The rate at the end of warm-up.
  public var peakRate: Float
  /// Steps of warm-up.
  public var warmupSteps: Int
  /// All optimisation steps.
  public var totalSteps: Int

  public init(peakRate: Float, warmupSteps: Int, totalSteps: Int) {
    self.peakRate = peakRate
    self.warmupSteps = max(0, warmupSteps)
    self.totalSteps = max(1, totalSteps)
  }

  /// Warm-up as a fraction of the total steps (HF's `warmup_ratio`), rounded up.
  public init(peakRate: Float, warmupRatio: Float, totalSteps: Int) {
    let warmup = Int((warmupRatio * Float(totalSteps)).rounded(.up))
    self.init(peakRate: peakRate, warmupSteps: warmup, totalSteps: totalSteps)
  }

  /// The rate for the update with 0-based index `step`.
  public func rate(atStep step: Int) -> Float {
    if step < warmupSteps { return peakRate * Float(step) / Float(max(1, warmupSteps)) }
    let remaining = Float(totalSteps - step) / Float(max(1, totalSteps - warmupSteps))
    return peakRate * max(0, remaining)
  }
}
