// The platform's HTTP stack for the Rust core: every request Tidbit makes (sync, course
// updates, shared recordings, sign-in) travels through URLSession, so HTTPS follows the system's
// trust store, proxies and VPNs, and the library carries no TLS stack of its own. TidbitClient
// puts it in place when first used; an app that drives the generated bindings directly calls
// `URLSessionTransport.install()` first.
//
// The core calls these methods on its own background threads, never the main thread; each
// blocks until URLSession's delegate has what it waits for.

import Foundation

/// URLSession as the core's `HttpTransport`: one data task per call, its body buffered a
/// bounded amount ahead of the core's reads.
public final class URLSessionTransport: NSObject, HttpTransport, URLSessionDataDelegate, @unchecked Sendable {
    /// The body bytes buffered ahead of the reader before the task is suspended.
    private static let bufferAhead = 1 << 20

    private final class Call {
        let task: URLSessionDataTask
        let maxRedirects: UInt32
        var redirects: UInt32 = 0
        var head: HttpHead?
        var buffer = Data()
        var ended = false
        var failure: HttpError?
        var cancelled = false
        var timedOut = false
        var suspended = false

        init(task: URLSessionDataTask, maxRedirects: UInt32) {
            self.task = task
            self.maxRedirects = maxRedirects
        }
    }

    private let condition = NSCondition()
    private var calls: [UInt64: Call] = [:]
    private var callOfTask: [Int: UInt64] = [:]
    private var session: URLSession!

    override public init() {
        super.init()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        // The session keeps its delegate: the transport lives as long as the app's process.
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
    }

    private static let installed: Void = {
        setHttpTransport(transport: URLSessionTransport())
    }()

    /// Puts URLSession in place for every request the core makes (once).
    public static func install() {
        _ = installed
    }

    public func send(call: UInt64, request: HttpRequest) throws -> HttpHead {
        guard let url = URL(string: request.url), url.scheme == "http" || url.scheme == "https" else {
            throw HttpError.Failed(reason: "'\(request.url)' is not an http or https URL")
        }
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = request.method
        for header in request.headers {
            urlRequest.setValue(header.value, forHTTPHeaderField: header.name)
        }
        if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
            urlRequest.httpBody = request.body
        }
        // URLSession bounds the wait for each packet; the whole call's deadline cancels it.
        let idle = request.readTimeoutMs ?? max(request.connectTimeoutMs, request.timeoutMs ?? 0)
        urlRequest.timeoutInterval = TimeInterval(max(idle, 1)) / 1000
        let task = session.dataTask(with: urlRequest)
        let state = Call(task: task, maxRedirects: request.maxRedirects)
        condition.lock()
        calls[call] = state
        callOfTask[task.taskIdentifier] = call
        condition.unlock()
        if let ms = request.timeoutMs {
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(min(ms, UInt64(Int32.max))))) {
                [weak self] in
                self?.condition.lock()
                state.timedOut = !state.ended
                self?.condition.unlock()
                self?.cancel(call: call)
            }
        }
        task.resume()
        condition.lock()
        defer { condition.unlock() }
        while state.head == nil && !state.ended && !state.cancelled {
            condition.wait()
        }
        if let head = state.head, !state.cancelled {
            return head
        }
        throw failure(of: state)
    }

    public func read(call: UInt64, max: UInt32) throws -> Data {
        condition.lock()
        defer { condition.unlock() }
        guard let state = calls[call] else {
            throw HttpError.Failed(reason: "no such call")
        }
        while state.buffer.isEmpty && !state.ended && !state.cancelled {
            condition.wait()
        }
        if state.cancelled || (state.buffer.isEmpty && state.failure != nil) {
            throw failure(of: state)
        }
        let piece = state.buffer.prefix(Int(max))
        state.buffer.removeFirst(piece.count)
        if state.suspended && state.buffer.count < Self.bufferAhead / 2 {
            state.suspended = false
            state.task.resume()
        }
        return Data(piece)
    }

    public func finish(call: UInt64) {
        condition.lock()
        let state = calls.removeValue(forKey: call)
        if let state {
            callOfTask.removeValue(forKey: state.task.taskIdentifier)
        }
        let running = state.map { !$0.ended } ?? false
        condition.unlock()
        if running {
            state?.task.cancel()
        }
    }

    public func cancel(call: UInt64) {
        condition.lock()
        let state = calls[call]
        state?.cancelled = true
        condition.broadcast()
        condition.unlock()
        state?.task.cancel()
    }

    private func failure(of state: Call) -> HttpError {
        if state.timedOut { return HttpError.Failed(reason: "timed out") }
        if state.cancelled { return HttpError.Failed(reason: "the call was cancelled") }
        return state.failure ?? HttpError.Failed(reason: "the connection ended")
    }

    private func state(of task: URLSessionTask) -> Call? {
        callOfTask[task.taskIdentifier].flatMap { calls[$0] }
    }

    // MARK: URLSessionDataDelegate (on the session's serial queue)

    public func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        condition.lock()
        let state = state(of: task)
        state?.redirects += 1
        let allowed = state.map { $0.redirects <= $0.maxRedirects } ?? false
        if let state, !allowed {
            state.failure = HttpError.TooManyRedirects(reason: "more than \(state.maxRedirects) for \(task.originalRequest?.url?.absoluteString ?? "")")
        }
        condition.unlock()
        if allowed {
            completionHandler(request)
        } else {
            completionHandler(nil)
            task.cancel()
        }
    }

    public func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        condition.lock()
        if let state = state(of: dataTask), state.failure != nil {
            // A redirect past the bound: the call has failed already.
            condition.unlock()
            completionHandler(.cancel)
            return
        }
        if let state = state(of: dataTask), let http = response as? HTTPURLResponse {
            let headers = http.allHeaderFields.map { HttpHeader(name: "\($0.key)", value: "\($0.value)") }
            state.head = HttpHead(status: UInt16(clamping: http.statusCode), headers: headers)
            condition.broadcast()
        }
        condition.unlock()
        completionHandler(.allow)
    }

    public func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        condition.lock()
        if let state = state(of: dataTask) {
            state.buffer.append(data)
            if state.buffer.count >= Self.bufferAhead && !state.suspended {
                state.suspended = true
                dataTask.suspend()
            }
            condition.broadcast()
        }
        condition.unlock()
    }

    public func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        condition.lock()
        if let state = state(of: task) {
            state.ended = true
            if let error, state.failure == nil {
                let timedOut = (error as? URLError)?.code == .timedOut
                state.failure = HttpError.Failed(reason: timedOut ? "timed out" : error.localizedDescription)
            }
            condition.broadcast()
        }
        condition.unlock()
    }
}
