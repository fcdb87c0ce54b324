// The spec's public API speaks JSONValue (schemas, validated documents), so its users get the
// base module with it.
@_exported import RecopsBase
