// Sign-in through the organisation's OpenID provider, with the platform's HTTP stack in place:
// sign-in usually comes before any learner's store is opened, so these put PlatformHttp in
// place before calling the generated bindings (begin, then finish on the object returned).
//
// Platform-independent: the browser part (Custom Tabs) is the app's.

package dev.tidbit

import dev.tidbit.ffi.SignIn
import dev.tidbit.ffi.core.SignInSettings
import dev.tidbit.ffi.beginSignIn

object TidbitSignIn {
    /** Reads the provider's discovery document and starts a sign-in. */
    suspend fun begin(settings: SignInSettings): SignIn {
        PlatformHttp.install()
        return beginSignIn(settings)
    }

    /** A sign-in kept with `SignIn.toJson()` before the app's process ended. */
    fun restore(json: String): SignIn {
        PlatformHttp.install()
        return SignIn.fromJson(json)
    }
}
