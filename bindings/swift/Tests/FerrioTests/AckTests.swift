import Foundation
import Testing
@testable import Ferrio

@Suite("Acknowledgements")
struct AckTests {
    @Test("emitWithAck returns the server's acknowledgement: one value, several, or none")
    func emitWithAckReturnsTheAcknowledgement() async throws {
        try await withClient { client in
            let socket = client.socket
            let one = try await socket.emitWithAck("echo", "one")
            #expect(one.values == ["one"])
            #expect(one.value == "one")
            let several = try await socket.emitWithAck("echo", "a", 2, [3])
            #expect(several.values == ["a", 2, [3]])
            let none = try await socket.emitWithAck("echo")
            #expect(none.isEmpty)
            let id = try await socket.emitWithAck("getId")
            #expect(id.value == .string(client.id!))
        }
    }

    @Test("emitWithAck without a reply throws timeout")
    func emitWithAckWithoutReplyTimesOut() async throws {
        try await withClient { client in
            let start = ContinuousClock.now
            await #expect(throws: FerrioError.timeout) {
                try await client.socket.emitWithAck("hi", timeout: .milliseconds(200))
            }
            // The call's own timeout applied, not the options' default of 30 s (a bound with
            // room for a busy machine, not a timing).
            #expect(ContinuousClock.now - start < .seconds(20))
        }
    }

    @Test("the default ack timeout comes from the options")
    func defaultAckTimeoutComesFromTheOptions() async throws {
        try await withClient(options: ClientOptions { $0.ackTimeout = .milliseconds(200) }) { client in
            await #expect(throws: FerrioError.timeout) { try await client.socket.emitWithAck("hi") }
        }
    }

    @Test("a handler answers the server's acknowledgement request (askMe)")
    func handlerAnswersTheServersRequest() async throws {
        let answers = Recorder<[JSONValue]>()
        try await withClient(prepare: { client in
            client.socket.on("question") { event in
                #expect(event.wantsAcknowledgement)
                let n = try event.decode(Int.self)
                try event.acknowledge(n * 2, "doubled")
            }
            client.socket.on("answer") { event in answers.record(event.arguments.values) }
        }) { client in
            try await client.socket.emit("askMe", 21)
            #expect(try await answers.next() == [42, "doubled"])
        }
    }
}
