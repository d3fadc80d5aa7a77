import CLIP
import Foundation
import TestSupport
import XCTest

/// The Swift forward pass against transformers' CLIPModel on the tiny fixture
/// (Tools/fixtures/make_clip_fixture.py): every output and every layer to 1e-4.
final class CLIPParityTests: XCTestCase {
    static let model = TinyCLIP.model

    func testConfigInferredFromShapesAndConfigJSON() throws {
        let c = try Self.model.get().config
        XCTAssertEqual(c.imageSize, 224)
        XCTAssertEqual(c.patchSize, 16)
        XCTAssertEqual(c.vision.width, 64)
        XCTAssertEqual(c.vision.layers, 2)
        XCTAssertEqual(c.vision.heads, 4)
        XCTAssertEqual(c.vision.activation, .gelu)
        XCTAssertEqual(c.text?.activation, .quickGELU)
        XCTAssertEqual(c.text?.width, 32)
        XCTAssertEqual(c.embedDim, 24)
        XCTAssertEqual(c.contextLength, 77)
    }

    func testImageEmbeddingsAndHiddenStatesMatchReference() throws {
        let model = try Self.model.get()
        let ref = try Fixtures.referenceTensors()
        let cases = try Fixtures.cases()
        let pixels = SyntheticPixels.make(count: cases.n_images, size: cases.image_size)
        let stride = 3 * cases.image_size * cases.image_size
        var hidden: [Int: [Float]] = [:]
        let tokens = model.vision.sequenceLength()
        let emb = pixels.withUnsafeBufferPointer { p in
            model.vision.encode((0..<cases.n_images).map { .init(pixels: p.baseAddress! + $0 * stride) }) { layer, h in
                hidden[layer] = Array(h.prefix(tokens * model.vision.width))  // image 0
            }
        }
        for layer in 0...model.config.vision.layers {
            assertClose(hidden[layer] ?? [], try ref.floats("vision_hidden_\(layer)"), "vision hidden state \(layer)")
        }
        assertClose(emb, try ref.floats("image_embeds"), "image embeddings")
        // The convenience entry point gives the same result.
        assertClose(model.encodeImages(pixels: pixels, count: cases.n_images), emb, tolerance: 1e-6, "encodeImages")
    }

    func testReducedTokensWithExtraTokenMatchReference() throws {
        let model = try Self.model.get()
        let ref = try Fixtures.referenceTensors()
        let cases = try Fixtures.cases()
        let pixels = SyntheticPixels.make(count: 1, size: cases.image_size)
        let extra = try ref.floats("reduced_extra")
        let emb = pixels.withUnsafeBufferPointer { p in
            model.vision.encode([.init(pixels: p.baseAddress!, keep: cases.keep, extraTokens: extra)])
        }
        assertClose(emb, try ref.floats("reduced_embed"), "reduced + extra token embedding")
    }

    func testBatchMixingSequenceLengthsEqualsOneByOne() throws {
        let model = try Self.model.get()
        let pixels = SyntheticPixels.make(count: 2, size: 224)
        let stride = 3 * 224 * 224
        let extra = [Float](repeating: 0.3, count: model.vision.width)
        pixels.withUnsafeBufferPointer { p in
            let a = VisionTower.Request(pixels: p.baseAddress!)
            let b = VisionTower.Request(pixels: p.baseAddress! + stride, keep: [5, 1, 7], extraTokens: extra)
            let together = model.vision.encode([a, b])
            let alone = model.vision.encode([a]) + model.vision.encode([b])
            assertClose(together, alone, tolerance: 1e-5, "packed batch vs single")
        }
    }

    func testTextEmbeddingsAndHiddenStatesMatchReference() throws {
        let model = try Self.model.get()
        let ref = try Fixtures.referenceTensors()
        let cases = try Fixtures.cases()
        let text = try XCTUnwrap(model.text)
        let eot = Int32(model.config.vocabSize - 1)
        var hidden: [Int: [Float]] = [:]
        let n0 = cases.ids[0].count
        let emb = text.encode(cases.ids, endToken: eot) { layer, h in
            hidden[layer] = Array(h.prefix(n0 * text.tower.width))
        }
        for layer in 0...text.tower.layers {
            assertClose(hidden[layer] ?? [], try ref.floats("text_hidden_\(layer)"), "text hidden state \(layer)")
        }
        assertClose(emb, try ref.floats("text_embeds"), "text embeddings")
        XCTAssertEqual(model.logitScale, cases.logit_scale, accuracy: 1e-6)
    }

    func testTokenizerFeedsTheSameIDsAsTheReference() throws {
        let model = try Self.model.get()
        let cases = try Fixtures.cases()
        let tokenizer = try XCTUnwrap(model.tokenizer)
        for (prompt, ids) in zip(cases.prompts, cases.ids) {
            XCTAssertEqual(tokenizer.tokenize(prompt).ids, ids, prompt)
        }
        let ref = try Fixtures.referenceTensors()
        assertClose(try model.encodeTexts(cases.prompts).embeddings, try ref.floats("text_embeds"), "encodeTexts")
        XCTAssertEqual(try model.encodeTexts(cases.prompts).truncated, [false, false, false, false, true])
    }
}
