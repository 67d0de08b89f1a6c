import Foundation

/// The wire protocol's version (`Envelope.protocol_version`). Peers with another version are
/// rejected with a reason instead of misreading each other's messages.
public let protocolVersion: UInt32 = 1
