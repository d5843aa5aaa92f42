import SluiceCore
import SluiceFilters
import SluiceTestSupport
import Testing

@Suite struct PIIRedactTests {
    let pii = try! PIIRedact(configuration: .init())
    let withPhones = try! PIIRedact(configuration: .init(phones: true))

    @Test("e-mail addresses are replaced; handles, decorators and package versions are not addresses")
    func emails() {
        #expect(pii.redact("Write to john.doe+tag@mail.example.co.uk today.") == "Write to <EMAIL> today.")
        #expect(pii.redact("Mail: A_B@Example.ORG.") == "Mail: <EMAIL>.")
        #expect(pii.redact("(first.last@sub.domain.io)") == "(<EMAIL>)")
        // not an e-mail address, but an IP address
        #expect(pii.redact("email@123.123.123.123") == "email@<IP_ADDRESS>")
        for text in ["@handle and @property", "user@localhost", "react@16.8.0", "a@b", "name@.com", "name.@example.com",
                     "na..me@example.com", "x@example.c", "@@@", "a@@b.com"] {
            #expect(pii.redact(text) == text, "\(text)")
        }
    }

    @Test("IPv4 addresses are replaced; versions, dates and decimals are not addresses")
    func ipv4() {
        #expect(pii.redact("Server 203.0.113.7 answered, then 8.8.8.8:53.") == "Server <IP_ADDRESS> answered, then <IP_ADDRESS>:53.")
        #expect(pii.redact("from 10.0.0.1 to 192.168.1.254") == "from <IP_ADDRESS> to <IP_ADDRESS>")
        for text in ["version 1.2.3.4", "Version: 10.0.0.1", "v1.2.3.4", "release 2.0.1.5 is out", "build 5.1.2.600",
                     "1.2.3.4.5", "10.0.0.256", "01.02.03.04", "12.05.2023", "3.14159", "1.2.3", "0.5 and 2.25",
                     "1,234,567.89", "a1.2.3.4", "1.2.3.4b", "IP 999.1.1.1"] {
            #expect(pii.redact(text) == text, "\(text)")
        }
    }

    @Test("IPv6 addresses are replaced; code, times and MAC addresses are not addresses")
    func ipv6() {
        #expect(pii.redact("Ping 2001:0db8:85a3:0000:0000:8a2e:0370:7334 now") == "Ping <IP_ADDRESS> now")
        #expect(pii.redact("link fe80::1ff:fe23:4567:890a%eth0 up") == "link <IP_ADDRESS>%eth0 up")
        #expect(pii.redact("at fe80::1.") == "at <IP_ADDRESS>.")
        #expect(pii.redact("mapped ::ffff:192.0.2.128 here") == "mapped <IP_ADDRESS> here")
        #expect(pii.redact("http://[2001:db8::8a2e]:80/") == "http://[<IP_ADDRESS>]:80/")
        for text in ["std::map<int, int> m;", "a[1::2]", "x[::1]", "::1", "12:30:45", "00:1a:2b:3c:4d:5e",
                     "deadbeef", "1::2::3", "Foo::Bar::baz()", "2001:db8:::1", "a:b:c:d:e:f:1:2:3"] {
            #expect(pii.redact(text) == text, "\(text)")
        }
    }

    @Test("phone numbers only when asked; dates, ranges, ISBNs and plain numbers are not numbers")
    func phones() {
        #expect(pii.redact("Call 555-123-4567.") == "Call 555-123-4567.")
        #expect(withPhones.redact("Call 555-123-4567.") == "Call <PHONE_NUMBER>.")
        #expect(withPhones.redact("Call (555) 123-4567 or +1 555 123 4567.") == "Call <PHONE_NUMBER> or <PHONE_NUMBER>.")
        #expect(withPhones.redact("UK: +44 20 7946 0958, DE: +49 30 123456") == "UK: <PHONE_NUMBER>, DE: <PHONE_NUMBER>")
        #expect(withPhones.redact("ext 555.123.4567") == "ext <PHONE_NUMBER>")
        for text in ["2023-01-15", "15.01.2023", "1990-2000", "ISBN 978-3-16-148410-0", "1234567890", "3.14159265",
                     "$1,234,567", "id 123-45", "12:30:45", "555-1234-56789-123", "v1.2.3-4567"] {
            #expect(withPhones.redact(text) == text, "\(text)")
        }
    }

    @Test("placeholders are configurable and counts are kept per kind")
    func countersAndPlaceholders() throws {
        let s = try stage(PIIRedact.self, #""phones": true, "email_placeholder": "|||EMAIL|||", "ip_placeholder": "[ip]""#)
        let result = try run(s, docs("a@b.com and c@d.org from 1.2.3.4", "nothing here", "2001:db8::1:2 or +1 555 123 4567"))
        #expect(result.keptTexts == ["|||EMAIL||| and |||EMAIL||| from [ip]", "nothing here", "[ip] or <PHONE_NUMBER>"])
        #expect(result.stats.counters["pii_email"] == 2)
        #expect(result.stats.counters["pii_ipv4"] == 1)
        #expect(result.stats.counters["pii_ipv6"] == 1)
        #expect(result.stats.counters["pii_phone"] == 1)
        #expect(result.stats.counters["documents_changed"] == 2)
        expectEveryOptionIsRead(PIIRedact.self, required: "")
    }

    @Test("public_ips_only leaves private and documentation ranges alone")
    func publicOnly() throws {
        let s = try stage(PIIRedact.self, #""public_ips_only": true"#)
        #expect(s.redact("10.1.2.3 192.168.0.1 127.0.0.1 172.16.5.4 8.8.8.8 fd00::1:2 2606:4700::1111")
            == "10.1.2.3 192.168.0.1 127.0.0.1 172.16.5.4 <IP_ADDRESS> fd00::1:2 <IP_ADDRESS>")
    }

    @Test("long hostile inputs take linear time")
    func hostile() {
        let at = String(repeating: "a@", count: 20000)
        let dots = String(repeating: "1.", count: 20000)
        let colons = String(repeating: "a:", count: 20000)
        let digits = String(repeating: "1 ", count: 20000)
        // CPU time of this thread, not the wall clock: a loaded CI machine stretches the latter.
        // Quadratic scanning of these 40 KB texts would take minutes.
        let start = threadCPUTime()
        for text in [at, dots, colons, digits] { _ = withPhones.redact(text) }
        let used = threadCPUTime() - start
        #expect(used < .seconds(5), "\(used) of CPU time")
    }
}
