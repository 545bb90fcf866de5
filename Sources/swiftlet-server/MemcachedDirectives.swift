import SwiftletConfig

/// The two directives that start the memcached front end beside RESP: `memcached-port <port>` and
/// `memcached-options "<memcached flags>"` (for example `"-m 1024 -I 2m -c 4096"`), in the config file or as
/// `--memcached-port 11211` on the command line. They are Swiftlet's own, not Redis parameters, so they are taken
/// out of the config text before `ConfigStore` reads it (CONFIG GET does not list them; docs/CONFIG.md).
struct MemcachedDirectives {
    var port: Int?
    var options: [String] = []

    /// Removes the memcached directives from config text (lines of `name args`) and returns what they said.
    /// - Throws: the message to exit with, for a directive without a valid value.
    static func extract(from text: inout String) throws(DirectiveError) -> MemcachedDirectives {
        var directives = MemcachedDirectives()
        var kept: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let words = ConfigFileParser.splitArguments(String(line)) ?? []
            guard let name = words.first?.lowercased(), name == "memcached-port" || name == "memcached-options" else {
                kept.append(line)
                continue
            }
            if name == "memcached-port" {
                guard words.count == 2, let port = Int(words[1]), port >= -1, port <= 65535 else {
                    throw DirectiveError(message: "memcached-port needs one port number (-1-65535), got: \(line)")
                }
                directives.port = port
            } else {
                guard words.count >= 2 else {
                    throw DirectiveError(message: "memcached-options needs memcached's flags, e.g. \"-m 1024\"")
                }
                // One quoted string of flags, or the flags as separate words.
                for word in words.dropFirst() {
                    directives.options += word.split(separator: " ").map(String.init)
                }
            }
        }
        text = kept.joined(separator: "\n")
        return directives
    }

    struct DirectiveError: Error {
        let message: String
    }
}
