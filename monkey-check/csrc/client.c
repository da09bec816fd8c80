/* A C client that knows nothing about gevent: plain blocking socket calls,
 * poll() and usleep(), as a C library would make them. Linked into the
 * test binaries of monkey-check, where gevent's hooks make them
 * cooperative inside greenlets. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Connects to 127.0.0.1:port, sends msg, waits with poll() for the reply,
 * reads up to outlen bytes until the peer closes. Returns the number of
 * bytes read, or -errno (or -1000 if poll timed out). */
int monkey_c_echo(unsigned short port, const char *msg, char *out, int outlen) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -errno;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    size_t len = strlen(msg), sent = 0;
    while (sent < len) {
        ssize_t n = send(fd, msg + sent, len - sent, 0);
        if (n < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        sent += (size_t)n;
    }
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, 10000);
    if (r != 1) {
        close(fd);
        return r == 0 ? -1000 : -errno;
    }
    int got = 0;
    while (got < outlen) {
        ssize_t n = recv(fd, out + got, (size_t)(outlen - got), 0);
        if (n < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (n == 0) break;
        got += (int)n;
    }
    close(fd);
    return got;
}

/* Sleeps ms milliseconds with usleep(), then with nanosleep(). */
void monkey_c_sleep(unsigned ms) {
    usleep(ms * 500u);
    struct timespec ts = {(time_t)(ms / 2000u), (long)((ms / 2u) % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}
