"""PromQL's failures, each carrying the Prometheus API's `errorType` and the HTTP status it answers with."""


class PromQLError(ValueError):
    """Bad input to a PromQL query: the HTTP side answers `{"status": "error", "errorType": ..., "error": ...}`."""

    error_type = "bad_data"
    status = 400


class ParseError(PromQLError):
    """The text is not PromQL (400 bad_data, as Prometheus answers)."""


class Unsupported(PromQLError):
    """Valid PromQL that this engine does not evaluate; the message names the function or feature (422)."""

    error_type = "execution"
    status = 422


class EvaluationError(PromQLError):
    """Evaluation failed the way Prometheus' fails (duplicate label sets, many-to-many matching): 422."""

    error_type = "execution"
    status = 422


class TooMuchData(PromQLError):
    """The query would touch more series or points than a query may (422, like Prometheus' max-samples)."""

    error_type = "execution"
    status = 422
