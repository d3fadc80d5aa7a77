import Foundation
import Hummingbird

struct SessionBody: Encodable {
    var expiresInSeconds: Int
}

extension RStoreServer {
    func registerSessionRoutes(_ t: inout RouteTable) {
        // POST /v1/session: trade the bearer token (checked by the auth group: the cookie
        // cannot authenticate a POST) for an HttpOnly session cookie for the page.
        t.post("/v1/session") { [self] _, _ in
            let id = sessions.create()
            var h = HTTPFields()
            h[.setCookie] = sessions.cookie(id)
            h[.cacheControl] = "no-store"
            return try JSONResponse.make(SessionBody(expiresInSeconds: Int(sessions.lifetime)), headers: h)
        }
    }
}
