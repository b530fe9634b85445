// Sign-in through the organisation's OpenID provider, with the platform's HTTP stack in place:
// sign-in usually comes before any learner's store is opened, so these put URLSessionTransport
// in place before calling the generated bindings (begin, then finish on the object returned).
//
// The browser part (ASWebAuthenticationSession) is the app's.

import Foundation

public enum TidbitSignIn {
    /// Reads the provider's discovery document and starts a sign-in.
    public static func begin(settings: SignInSettings) async throws -> SignIn {
        URLSessionTransport.install()
        return try await beginSignIn(settings: settings)
    }

    /// A sign-in kept with `SignIn.toJson()` before the app's process ended.
    public static func restore(json: String) throws -> SignIn {
        URLSessionTransport.install()
        return try SignIn.fromJson(json: json)
    }
}
