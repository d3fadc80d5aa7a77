import Foundation
import TestSupport
import XCTest

/// Typed options and the shared sampling limits, through the real binary: a bad value is
/// refused before any work, with a message naming the option, the value and what is valid.
final class OptionValidationTests: XCTestCase {
    func refused(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let out = try RStoreProcess.run(args)
        XCTAssertNotEqual(out.status, 0, "\(args) was accepted", file: file, line: line)
        XCTAssertTrue(out.stdout.isEmpty, out.stdout, file: file, line: line)
        return out.stderr
    }

    func testUnknownEnumValuesListTheValidOnes() throws {
        let model = RStoreProcess.tinyModel.path
        let strategy = try refused([
            "index", "--model", model, "--store", "/nonexistent/x.rstore", "--strategy", "zigzag", "a.mp4",
        ])
        XCTAssertTrue(
            strategy.contains("zigzag") && strategy.contains("--strategy") && strategy.contains("motion")
                && strategy.contains("uniform"), strategy)
        let codec = try refused([
            "index", "--model", model, "--store", "/nonexistent/x.rstore", "--codec", "f8", "a.mp4",
        ])
        XCTAssertTrue(codec.contains("f8") && codec.contains("--codec") && codec.contains("f16+lz4"), codec)
        let f32 = try refused([
            "index", "--model", model, "--store", "/nonexistent/x.rstore", "--codec", "f32+lz4", "a.mp4",
        ])
        XCTAssertTrue(f32.contains("--codec must be f16+lz4 or i8+lz4"), f32)
        let split = try refused([
            "train-tokenizer", "--model", model, "--out", "/nonexistent/a.safetensors", "--split", "sideways", "a.mp4",
        ])
        XCTAssertTrue(split.contains("sideways") && split.contains("--split") && split.contains("video"), split)
        let loss = try refused([
            "train-tokenizer", "--model", model, "--out", "/nonexistent/a.safetensors", "--loss", "l2", "a.mp4",
        ])
        XCTAssertTrue(
            loss.contains("l2") && loss.contains("--loss") && loss.contains("text") && loss.contains("soft-ce"), loss)
        for command in [
            ["index", "--model", model, "--store", "/nonexistent/x.rstore"],
            ["train-tokenizer", "--model", model, "--out", "/nonexistent/a.safetensors"],
        ] {
            let iframes = try refused(command + ["--iframes", "sometimes", "a.mp4"])
            XCTAssertTrue(
                iframes.contains("sometimes") && iframes.contains("--iframes") && iframes.contains("fixed")
                    && iframes.contains("adaptive"), iframes)
        }
    }

    /// fps, N and p have one set of bounds: every command refuses the same values with the
    /// same words, and accepts the same ones.
    func testEveryCommandSharesTheSamplingLimits() throws {
        let model = RStoreProcess.tinyModel.path
        let commands: [[String]] = [
            ["index", "--model", model, "--store", "/nonexistent/x.rstore", "a.mp4"],
            ["train-tokenizer", "--model", model, "--out", "/nonexistent/a.safetensors", "a.mp4"],
            ["scan", "--model", model, "--text", "a dog", "a.mp4"],
        ]
        for command in commands {
            for fps in ["0", "121", "nan"] {
                let err = try refused(command + ["--fps", fps])
                XCTAssertTrue(err.contains("--fps must be in (0, 120]"), "\(command[0]) --fps \(fps): \(err)")
            }
        }
        for command in commands.prefix(2) {
            let p = try refused(command + ["--p", "1"])
            XCTAssertTrue(p.contains("--p must be in [0, 1), got 1.0"), p)
            let n = try refused(command + ["--n=-1"])
            XCTAssertTrue(n.contains("--n (P-frames per I-frame) must be >= "), n)
        }
        let noP = try refused(commands[1] + ["--n", "0"])
        XCTAssertTrue(noP.contains("must be >= 1, got 0"), noP)
    }
}
