import Foundation
import PostgresTestSupport
import Store
import StorePostgres
import XCTest

/// `StoreConformance` against the SQLite backend (a fresh file per test).
final class SQLiteConformanceTests: XCTestCase {
    var backend: Backend {
        Backend(name: "sqlite") {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("conf-\(UUID().uuidString).rstore")
            return (try SQLiteStore(url: url), { try SQLiteStore(url: url) })
        }
    }

    func testModelBinding() throws { try StoreConformance.modelBinding(backend) }
    func testDeleteRemovesOneVersion() throws { try StoreConformance.deleteRemovesOneVersion(backend) }
    func testIngestAndRead() throws { try StoreConformance.ingestAndRead(backend) }
    func testBadChunksWriteNothing() throws { try StoreConformance.badChunksWriteNothing(backend) }
    func testResumeAfterCrash() throws { try StoreConformance.resumeAfterCrash(backend) }
    func testChunksUnderLeaseSeeOtherWriters() throws { try StoreConformance.chunksUnderLeaseSeeOtherWriters(backend) }
    func testAtomicReindexAndFail() throws { try StoreConformance.atomicReindexAndFail(backend) }
    func testReadersConsistentWhileWritersCommit() throws { try StoreConformance.readersConsistentWhileWritersCommit(backend) }
}

/// `StoreConformance` against PostgreSQL (a fresh database per test in the throwaway cluster).
final class PostgresConformanceTests: XCTestCase {
    var backend: Backend {
        get throws {
            let cluster = try PostgresCluster.shared()
            return Backend(name: "postgres") {
                let url = try cluster.createDatabase()
                let cache = FileManager.default.temporaryDirectory.appendingPathComponent("pgcache-\(UUID().uuidString)")
                return (try PostgresStore(url: url, localCache: cache), { try PostgresStore(url: url, localCache: cache) })
            }
        }
    }

    func testModelBinding() throws { try StoreConformance.modelBinding(backend) }
    func testDeleteRemovesOneVersion() throws { try StoreConformance.deleteRemovesOneVersion(backend) }
    func testIngestAndRead() throws { try StoreConformance.ingestAndRead(backend) }
    func testBadChunksWriteNothing() throws { try StoreConformance.badChunksWriteNothing(backend) }
    func testResumeAfterCrash() throws { try StoreConformance.resumeAfterCrash(backend) }
    func testChunksUnderLeaseSeeOtherWriters() throws { try StoreConformance.chunksUnderLeaseSeeOtherWriters(backend) }
    func testAtomicReindexAndFail() throws { try StoreConformance.atomicReindexAndFail(backend) }
    func testReadersConsistentWhileWritersCommit() throws { try StoreConformance.readersConsistentWhileWritersCommit(backend) }
}
