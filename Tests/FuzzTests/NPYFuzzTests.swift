import Foundation
import ResidualStore
import XCTest

/// `rstore search --vector F.npy` reads a file the user hands over: the `.npy` reader either
/// returns exactly the values its header promises or refuses with `NPYError`, whatever the bytes.
final class NPYFuzzTests: XCTestCase {
    func testNPYVectors() throws {
        let f4 = [UInt8](NPY.data([0.5, -1, 2, 1e-3], shape: [4]))
        let row = [UInt8](NPY.data([1, 2, 3], shape: [1, 3]))
        let f8 = [UInt8](NPZ.float64([0.25, 4, -8]))
        var loop = FuzzLoop(
            target: "npy", seeds: [f4, row, f8],
            dictionary: [
                "{", "}", "(", ")", ",", ":", "'", "\"", "'descr'", "'shape'", "'fortran_order'", "'<f4'", "'<f8'",
                "'>f4'", "'|O'", "True", "False", "0", "1", "-1", "99999999999", "4294967296", "((((((((", "\n",
                "\u{93}NUMPY",
            ],
            hotBytes: 128)
        loop.run { input in
            let v: [Float]
            do { v = try NPY.vector(from: Data(input), path: "fuzz.npy") } catch is NPYError { return .refused }
            // What was returned must be what the file holds: 4 or 8 bytes a value, nothing more.
            guard v.count * 4 <= input.count else {
                throw InvariantBroken("\(v.count) values from a \(input.count)-byte file")
            }
            return .decoded
        }
    }
}
