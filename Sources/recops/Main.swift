#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process entry point.
@main
enum Main {
    static func main() async {
        acceptTerminationSignals()
        await Recops.main()
    }

    /// A parent may start us with SIGTERM and SIGINT blocked (test runners and some supervisors
    /// do), and blocked signals are inherited: `recops serve` would then never hear the stop it
    /// must shut down gracefully on. Unblocked first thing, before any thread exists, so every
    /// thread inherits the unblocked mask.
    static func acceptTerminationSignals() {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        sigprocmask(SIG_UNBLOCK, &signals, nil)
    }
}
