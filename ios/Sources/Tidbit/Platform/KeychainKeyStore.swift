// The key store backed by the iOS Keychain: Tidbit asks it for the certificate signing key.

import Foundation
import Security
import TidbitFFI

public final class KeychainKeyStore: KeyStore, @unchecked Sendable {
    private let service: String
    private static let signingKeyAccount = "certificate-signing-key"

    public init(service: String = "dev.tidbit.keys") {
        self.service = service
    }

    public func certificateSigningKey() throws -> String? {
        var query = baseQuery(account: Self.signingKeyAccount)
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            guard let data = item as? Data, let text = String(data: data, encoding: .utf8) else {
                throw KeyStoreError.Unavailable(reason: "the stored signing key is not text")
            }
            return text
        case errSecItemNotFound:
            return nil
        default:
            throw KeyStoreError.Unavailable(reason: "Keychain error \(status)")
        }
    }

    /// Stores the issuer's private key file text (from `tidbit keygen`), available after the
    /// first unlock and never synced to other devices.
    public func storeCertificateSigningKey(_ keyFileText: String) throws {
        let query = baseQuery(account: Self.signingKeyAccount)
        SecItemDelete(query as CFDictionary)
        var item = query
        item[kSecValueData as String] = Data(keyFileText.utf8)
        item[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let status = SecItemAdd(item as CFDictionary, nil)
        if status != errSecSuccess {
            throw KeyStoreError.Unavailable(reason: "Keychain error \(status)")
        }
    }

    private func baseQuery(account: String) -> [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
        ]
    }
}
