#include "http.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <mutex>
#include <thread>

#include <curl/curl.h>

#include "appforge/net_rules.hpp"

namespace appforge::net {

namespace {

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* out = static_cast<std::string*>(user);
    constexpr std::size_t kMaxBody = 16u << 20;  // answers we read are small JSON documents
    if (out->size() + size * n > kMaxBody) return 0;
    out->append(data, size * n);
    return size * n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* out = static_cast<std::vector<std::pair<std::string, std::string>>*>(user);
    std::string line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) out->clear();  // a new response (after 100-continue or a redirect)
    auto colon = line.find(':');
    if (colon != std::string::npos) {
        std::string name = line.substr(0, colon), value = line.substr(colon + 1);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        auto b = value.find_first_not_of(" \t");
        auto e = value.find_last_not_of(" \t\r\n");
        value = b == std::string::npos ? std::string() : value.substr(b, e - b + 1);
        out->emplace_back(name, value);
    }
    return size * n;
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
    for (const auto& [k, v] : headers)
        if (k == lower_name) return v;
    return {};
}

HttpResponse perform(const HttpRequest& request, const HttpOptions& options) {
    global_init();
    HttpResponse res;
    CURL* curl = curl_easy_init();
    if (!curl) {
        res.failure = HttpFailure::other;
        res.error = "cannot initialise libcurl";
        return res;
    }
    struct curl_slist* headers = nullptr;
    for (const auto& [k, v] : request.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT")
        headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip

    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");  // belt and braces: nothing follows anyway
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options.connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options.timeout_ms);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 0L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "appforge");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &res.body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &res.headers);
    if (request.method == "HEAD") {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (request.method == "GET") {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    }

    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        res.status = static_cast<int>(code);
    } else {
        res.status = 0;
        res.body.clear();
        switch (rc) {
            case CURLE_OPERATION_TIMEDOUT: res.failure = HttpFailure::timeout; break;
            case CURLE_COULDNT_CONNECT:
            case CURLE_COULDNT_RESOLVE_HOST:
            case CURLE_COULDNT_RESOLVE_PROXY: res.failure = HttpFailure::connect; break;
            default: res.failure = HttpFailure::other;
        }
        res.error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (!request.redact.empty()) {
        res.body = rules::redact_body(res.body, request.redact);
        res.error = rules::redact(res.error, request.redact);
        for (auto& [name, value] : res.headers) value = rules::redact(value, request.redact);
    }
    return res;
}

HttpResponse send(const HttpRequest& request, const HttpOptions& options, bool is_read, const RetryPolicy& policy) {
    int attempts = 0;
    for (;;) {
        HttpResponse res = perform(request, options);
        ++attempts;
        if (!should_retry(is_read, res.status, attempts, policy)) return res;
        sleep_ms(backoff_delay_ms(attempts, policy));
    }
}

void sleep_ms(int ms) {
    if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace appforge::net
