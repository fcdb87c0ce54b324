import Foundation
import HTTPTypes
import Hummingbird
import RecopsBase

/// Who opened a link: the connection's address, or, when the connection comes from a reverse
/// proxy on this machine (loopback), the address the proxy appended last to `X-Forwarded-For`.
/// A header from anywhere else is ignored: any client can write one.
struct LinkClient: Sendable, Equatable {
    var address: String
    /// The address's network: /24 for IPv4, /48 for IPv6 (a "new network" is judged by it).
    var network: String

    init(address: String) {
        self.address = address
        network = Self.network(of: address)
    }

    init(_ request: Request, peer: String) {
        if Self.isLoopback(peer), let forwarded = request.headers[HTTPField.Name("X-Forwarded-For")!],
           let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), Self.isAddress(last) {
            self.init(address: last)
        } else {
            self.init(address: peer)
        }
    }

    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1"
    }

    /// An IPv4 or IPv6 literal, by scalar: nothing else is kept as a client's address.
    static func isAddress(_ text: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return text.unicodeScalars.count <= 45 && (inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1)
    }

    static func network(of address: String) -> String {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            return address.split(separator: ".").prefix(3).joined(separator: ".") + ".0/24"
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            let groups = stride(from: 0, to: 6, by: 2).map { String(format: "%x", Int(bytes[$0]) << 8 | Int(bytes[$0 + 1])) }
            return groups.joined(separator: ":") + "::/48"
        }
        return address
    }
}

/// Opens a minute per client address, counted in this process (each replica counts its own).
/// The table is bounded: a flood of addresses makes the oldest windows go first.
final class LinkThrottle: Sendable {
    static let maxClients = 10_000
    let perMinute: Int
    private let windows = Locked<[String: (start: Date, count: Int)]>([:])

    init(perMinute: Int) {
        self.perMinute = perMinute
    }

    enum Decision: Equatable {
        case allowed
        /// `wait`: seconds until the window ends; `first`: the first refusal of this window.
        case refused(wait: Int, first: Bool)
    }

    /// Takes one open for `client`.
    func take(_ client: String, now: Date) -> Decision {
        windows.withLock { windows in
            if let window = windows[client], now.timeIntervalSince(window.start) < 60 {
                windows[client]!.count += 1
                guard window.count < perMinute else {
                    return .refused(wait: max(1, Int((60 - now.timeIntervalSince(window.start)).rounded(.up))), first: window.count == perMinute)
                }
                return .allowed
            }
            if windows.count >= Self.maxClients {
                windows = windows.filter { now.timeIntervalSince($0.value.start) < 60 }
                if windows.count >= Self.maxClients, let oldest = windows.min(by: { $0.value.start < $1.value.start })?.key { windows[oldest] = nil }
            }
            windows[client] = (now, 1)
            return .allowed
        }
    }
}
