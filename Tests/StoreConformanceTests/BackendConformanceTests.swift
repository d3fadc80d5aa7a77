import Foundation
import PostgresTestSupport
import Store
import StorePostgres
import XCTest

/// The checks of `StoreConformance` against one backend, which a subclass per store names
/// (`makeBackend`: fresh, empty stores). Each subclass lists the checks as its tests: XCTest
/// on Linux runs only the test methods a class declares itself, not inherited ones.
class StoreConformanceCase: XCTestCase {
    func makeBackend() throws -> Backend { throw XCTSkip("StoreConformanceCase runs through a backend's subclass") }

    func checkModelBinding() throws { try StoreConformance.modelBinding(makeBackend()) }
    func checkDeleteRemovesOneVersion() throws { try StoreConformance.deleteRemovesOneVersion(makeBackend()) }
    func checkIngestAndRead() throws { try StoreConformance.ingestAndRead(makeBackend()) }
    func checkBadChunksWriteNothing() throws { try StoreConformance.badChunksWriteNothing(makeBackend()) }
    func checkResumeAfterCrash() throws { try StoreConformance.resumeAfterCrash(makeBackend()) }
    func checkChunksUnderLeaseSeeOtherWriters() throws {
        try StoreConformance.chunksUnderLeaseSeeOtherWriters(makeBackend())
    }
    func checkAtomicReindexAndFail() throws { try StoreConformance.atomicReindexAndFail(makeBackend()) }
    func checkReadersConsistentWhileWritersCommit() throws {
        try StoreConformance.readersConsistentWhileWritersCommit(makeBackend())
    }
}

/// `StoreConformance` against the SQLite backend (a fresh file per test).
final class SQLiteConformanceTests: StoreConformanceCase {
    override func makeBackend() throws -> Backend {
        Backend(name: "sqlite") {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("conf-\(UUID().uuidString).rstore")
            return (try SQLiteStore(url: url), { try SQLiteStore(url: url) })
        }
    }

    func testModelBinding() throws { try checkModelBinding() }
    func testDeleteRemovesOneVersion() throws { try checkDeleteRemovesOneVersion() }
    func testIngestAndRead() throws { try checkIngestAndRead() }
    func testBadChunksWriteNothing() throws { try checkBadChunksWriteNothing() }
    func testResumeAfterCrash() throws { try checkResumeAfterCrash() }
    func testChunksUnderLeaseSeeOtherWriters() throws { try checkChunksUnderLeaseSeeOtherWriters() }
    func testAtomicReindexAndFail() throws { try checkAtomicReindexAndFail() }
    func testReadersConsistentWhileWritersCommit() throws { try checkReadersConsistentWhileWritersCommit() }
}

/// `StoreConformance` against PostgreSQL (a fresh database per test in the throwaway cluster).
final class PostgresConformanceTests: StoreConformanceCase {
    override func makeBackend() throws -> Backend {
        let cluster = try PostgresCluster.shared()
        return Backend(name: "postgres") {
            let url = try cluster.createDatabase()
            let cache = FileManager.default.temporaryDirectory.appendingPathComponent("pgcache-\(UUID().uuidString)")
            return (try PostgresStore(url: url, localCache: cache), { try PostgresStore(url: url, localCache: cache) })
        }
    }

    func testModelBinding() throws { try checkModelBinding() }
    func testDeleteRemovesOneVersion() throws { try checkDeleteRemovesOneVersion() }
    func testIngestAndRead() throws { try checkIngestAndRead() }
    func testBadChunksWriteNothing() throws { try checkBadChunksWriteNothing() }
    func testResumeAfterCrash() throws { try checkResumeAfterCrash() }
    func testChunksUnderLeaseSeeOtherWriters() throws { try checkChunksUnderLeaseSeeOtherWriters() }
    func testAtomicReindexAndFail() throws { try checkAtomicReindexAndFail() }
    func testReadersConsistentWhileWritersCommit() throws { try checkReadersConsistentWhileWritersCommit() }
}
