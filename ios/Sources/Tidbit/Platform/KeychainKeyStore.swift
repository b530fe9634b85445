// The key store backed by the iOS Keychain: Tidbit asks it for the store's at-rest key (made
// here once, at random) and the certificate signing key.

import Foundation
import Security
import TidbitFFI

public final class KeychainKeyStore: KeyStore, @unchecked Sendable {
    private let service: String
    private static let signingKeyAccount = "certificate-signing-key"
    private static let atRestKeyAccount = "at-rest-key"
    private let lock = NSLock()

    public init(service: String = "dev.tidbit.keys") {
        self.service = service
    }

    public func certificateSigningKey() throws -> String? {
        guard let data = try read(account: Self.signingKeyAccount) else { return nil }
        guard let text = String(data: data, encoding: .utf8) else {
            throw KeyStoreError.Unavailable(reason: "the stored signing key is not text")
        }
        return text
    }

    /// The 32 bytes Tidbit seals the learner's store with, created at random on first use and
    /// kept on this device only (readable after the first unlock, so background sync works).
    public func atRestKey() throws -> Data? {
        lock.lock()
        defer { lock.unlock() }
        if let key = try read(account: Self.atRestKeyAccount) {
            return key
        }
        var key = Data(count: 32)
        let status = key.withUnsafeMutableBytes { SecRandomCopyBytes(kSecRandomDefault, 32, $0.baseAddress!) }
        guard status == errSecSuccess else {
            throw KeyStoreError.Unavailable(reason: "no random bytes for the at-rest key (\(status))")
        }
        try write(account: Self.atRestKeyAccount, data: key)
        return key
    }

    /// Destroys the at-rest key (`TidbitClient.erase()` asks once the store is closed): no copy
    /// of the sealed store can be opened afterwards. A later `atRestKey()` makes a new one.
    public func destroyAtRestKey() throws {
        lock.lock()
        defer { lock.unlock() }
        let status = SecItemDelete(baseQuery(account: Self.atRestKeyAccount) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw KeyStoreError.Unavailable(reason: "Keychain error \(status)")
        }
    }

    private func read(account: String) throws -> Data? {
        var query = baseQuery(account: account)
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            return item as? Data
        case errSecItemNotFound:
            return nil
        default:
            throw KeyStoreError.Unavailable(reason: "Keychain error \(status)")
        }
    }

    private func write(account: String, data: Data) throws {
        var item = baseQuery(account: account)
        item[kSecValueData as String] = data
        item[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let status = SecItemAdd(item as CFDictionary, nil)
        if status != errSecSuccess {
            throw KeyStoreError.Unavailable(reason: "Keychain error \(status)")
        }
    }

    /// Stores the issuer's private key file text (from `tidbit keygen`), available after the
    /// first unlock and never synced to other devices.
    public func storeCertificateSigningKey(_ keyFileText: String) throws {
        SecItemDelete(baseQuery(account: Self.signingKeyAccount) as CFDictionary)
        try write(account: Self.signingKeyAccount, data: Data(keyFileText.utf8))
    }

    private func baseQuery(account: String) -> [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
        ]
    }
}
