/// A problem with a fastText model file, its training data or its use; the message says what is
/// wrong and how to fix it.
public struct FastTextError: Error, Sendable, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
