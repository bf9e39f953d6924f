// A chat client: joins a room, says hello, prints the room's messages.
//
// Usage: swift-chat [URL] [--name NAME] [--room ROOM] [--messages N] [--timeout S]; URL
// defaults to http://127.0.0.1:3000. It exits 0 after N messages received (default: never)
// and 1 when the timeout comes first, so it doubles as a smoke test.
//
// Any Socket.IO server with the events of `ferrio serve` works: `join(room)` answered with an
// acknowledgement, and `broadcast(room, message)` sent to the room as `message`.
import Ferrio
import Foundation

/// A chat message as it travels: one JSON object argument, `{"from":"ada","text":"hi"}`.
struct ChatMessage: Codable, Sendable {
    var from: String
    var text: String
}

/// The command line.
struct Options {
    var url = "http://127.0.0.1:3000"
    var name = "swifty"
    var room = "lobby"
    /// Exit after this many messages; `nil` for never.
    var messages: Int?
    /// Exit with an error when the messages have not arrived by then.
    var timeout: Duration?

    init(arguments: [String]) throws {
        var rest = arguments.makeIterator()
        while let argument = rest.next() {
            func value() throws -> String {
                guard let value = rest.next() else { throw UsageError("\(argument) needs a value") }
                return value
            }
            switch argument {
            case "--name": name = try value()
            case "--room": room = try value()
            case "--messages":
                guard let n = Int(try value()) else { throw UsageError("--messages: not a number") }
                messages = n
            case "--timeout":
                guard let seconds = Double(try value()) else { throw UsageError("--timeout: not a number") }
                timeout = .milliseconds(Int(seconds * 1000))
            case let flag where flag.hasPrefix("--"): throw UsageError("unknown option \(flag)")
            default: url = argument
            }
        }
    }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct TimedOut: Error {}

@main
enum Chat {
    static func main() async {
        let options: Options
        do {
            options = try Options(arguments: Array(CommandLine.arguments.dropFirst()))
        } catch {
            print("swift-chat: \(error)\nusage: swift-chat [URL] [--name NAME] [--room ROOM] [--messages N] [--timeout S]")
            exit(2)
        }
        do {
            try await chat(options)
        } catch is TimedOut {
            print("swift-chat: timed out after \(options.timeout!) waiting for messages")
            exit(1)
        } catch {
            print("swift-chat: \(error)")
            exit(1)
        }
    }

    static func chat(_ options: Options) async throws {
        let client = try Client(url: options.url)   // default options: polling, then the upgrade
        let socket = client.socket
        socket.onDisconnect { reason in print("disconnected: \(reason.rawValue)") }
        // Everything named "message" from now on, in order; leaving the loop unregisters it.
        let messages = socket.events(named: "message")
        try await client.connect()
        print("connected to \(options.url) as \(options.name)")
        do {
            // Join the room; the server acknowledges with `true`.
            let joined = try await socket.emitWithAck("join", options.room, timeout: .seconds(10))
            guard joined.values == [.bool(true)] else {
                throw UsageError("the server did not let us join \(options.room)")
            }
            // Several arguments: the room, then a Codable message.
            let hello = ChatMessage(from: options.name, text: "hello from \(options.name)")
            try await socket.emit("broadcast", options.room, hello)

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    var count = 0
                    for await event in messages {
                        let message = try event.decode(ChatMessage.self)
                        print("[\(options.room)] \(message.from): \(message.text)")
                        count += 1
                        if count == options.messages { return }
                    }
                }
                if let timeout = options.timeout {
                    group.addTask {
                        try await Task.sleep(for: timeout)
                        throw TimedOut()
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        } catch {
            await client.close()
            throw error
        }
        await client.close()
    }
}
