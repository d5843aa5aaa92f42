import Foundation
import SluiceLLM
import SluiceTestSupport
import Synchronization
import Testing

@Suite("OpenAI test server")
struct TestServerTests {
    /// Tests run in parallel in one process, each with its own server. A server stopped while
    /// its accept thread was between two accepts once let that thread accept on a descriptor
    /// number the kernel had already given to a newer server's socket, and close the newer
    /// server's connection: a healthy request in another test then needed a retry.
    @Test("servers started and stopped in parallel never take each other's connections")
    func parallelServersStayApart() throws {
        final class Churn: Sendable {
            let running = Atomic<Bool>(true)
            let servers = Atomic<Int>(0)
        }
        let churn = Churn()
        let churners = (0..<3).map { _ in
            Thread {
                while churn.running.load(ordering: .relaxed) {
                    guard let s = try? startServer() else { continue }
                    // A connection right before the stop keeps the accept thread busy.
                    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                    var addr = sockaddr_in()
                    addr.sin_family = sa_family_t(AF_INET)
                    addr.sin_port = in_port_t(UInt16(s.port).bigEndian)
                    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
                    _ = withUnsafePointer(to: &addr) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                    }
                    s.stop()
                    close(fd)
                    churn.servers.add(1, ordering: .relaxed)
                }
            }
        }
        churners.forEach { $0.start() }
        var retried: [String: Int] = [:]
        for i in 0..<150 {
            let server = try startServer()
            let client = try LLMClient(endpoint: testEndpoint(server) { $0.maxRetries = 3 })
            let outcome = try? client.complete(LLMRequest(prompt: "request \(i)")).1
            client.shutdown()
            server.stop()
            for (kind, n) in outcome?.failures ?? ["no reply": 1] { retried[kind, default: 0] += n }
        }
        churn.running.store(false, ordering: .relaxed)
        while churners.contains(where: { !$0.isFinished }) { usleep(1000) }
        #expect(retried.isEmpty, "failed attempts with \(churn.servers.load(ordering: .relaxed)) servers started and stopped meanwhile: \(retried)")
    }
}
