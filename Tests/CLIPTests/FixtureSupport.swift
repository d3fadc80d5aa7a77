import CLIP
import Foundation
import XCTest

/// Paths of the committed fixtures made by Tools/fixtures/*.py.
enum Fixtures {
    static var root: URL { Bundle.module.url(forResource: "Fixtures", withExtension: nil)! }
    static var tinyModel: URL { root.appendingPathComponent("tiny-clip") }
    static var reference: URL { root.appendingPathComponent("tiny-clip-reference") }

    static func referenceTensors() throws -> SafeTensorsFile {
        try SafeTensorsFile(url: reference.appendingPathComponent("reference.safetensors"))
    }

    struct Cases: Decodable {
        let prompts: [String]
        let ids: [[Int32]]
        let keep: [Int]
        let n_images: Int
        let image_size: Int
        let logit_scale: Float
    }

    static func cases() throws -> Cases {
        try JSONDecoder().decode(Cases.self, from: Data(contentsOf: reference.appendingPathComponent("cases.json")))
    }
}
