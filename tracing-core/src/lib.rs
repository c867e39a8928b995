//! W3C Trace Context, sampling, spans, PII scrubbing and OTLP JSON with zero dependencies.
