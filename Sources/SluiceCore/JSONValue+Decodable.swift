/// Reads any value a `Decoder` holds (a YAML or JSON configuration) as a ``JSONValue``, so stage
/// options can take free-form values (`add_metadata`'s `fields`, `field_filter`'s `equals`).
///
/// A scalar is tried as null, boolean, 64-bit signed or unsigned integer (kept as its literal), floating-point
/// number and string, in that order; then a mapping becomes an object (keys in the decoder's
/// order, which is file order for YAML) and a sequence an array. YAML infinities and NaN are
/// rejected, because JSON has no literal for them.
extension JSONValue: Decodable {
    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer() {
            if single.decodeNil() {
                self = .null
                return
            }
            if let b = try? single.decode(Bool.self) {
                self = .bool(b)
                return
            }
            if let i = try? single.decode(Int64.self) {
                self = .number(JSONNumber(uncheckedLiteral: String(i)))
                return
            }
            if let u = try? single.decode(UInt64.self) {
                self = .number(JSONNumber(uncheckedLiteral: String(u)))
                return
            }
            if let d = try? single.decode(Double.self) {
                guard d.isFinite else {
                    throw DecodingError.dataCorruptedError(
                        in: single, debugDescription: "\(d) is not a JSON number; JSON has no infinities or NaN")
                }
                self = .number(JSONNumber(d))
                return
            }
            if let s = try? single.decode(String.self) {
                self = .string(s)
                return
            }
        }
        if let keyed = try? decoder.container(keyedBy: JSONValueCodingKey.self) {
            var object = JSONObject()
            for key in keyed.allKeys {
                object[key.stringValue] = try keyed.decode(JSONValue.self, forKey: key)
            }
            self = .object(object)
            return
        }
        if var unkeyed = try? decoder.unkeyedContainer() {
            var array: [JSONValue] = []
            if let n = unkeyed.count { array.reserveCapacity(n) }
            while !unkeyed.isAtEnd {
                array.append(try unkeyed.decode(JSONValue.self))
            }
            self = .array(array)
            return
        }
        throw DecodingError.dataCorrupted(
            DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "not a JSON-compatible value"))
    }
}

/// Any string as a coding key, for decoding mappings with keys not known in advance.
private struct JSONValueCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }
    init(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}
