/// Why a prediction request body was refused. Each case names the HTTP class it belongs to; the
/// server maps it to its problem+json answer, this module knows no HTTP.
public enum PredictionRequestError: Error, Equatable, CustomStringConvertible {
    /// Malformed or empty JSON, a missing field, invalid base64, a number of the wrong kind or out
    /// of its range (HTTP 400). The detail names the field and what it must be.
    case badRequest(String)
    /// A Content-Type the endpoint does not take: multipart, text, or a non-image type (HTTP 415).
    case unsupportedMediaType(String)

    /// What to do about it, for the user.
    public var detail: String {
        switch self {
        case let .badRequest(detail), let .unsupportedMediaType(detail): detail
        }
    }

    public var description: String { detail }
}
