// SPDX-License-Identifier: MIT
#include "plot.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "report.h"
#include "util.h"

extern char** environ;

namespace bench {
namespace {

std::string find_in_path(const char* program) {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return "";
}

// A gnuplot single-quoted string: quotes doubled, nothing else special.
std::string quoted(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        if (c == '\'') q += '\'';
        q += c;
    }
    return q + "'";
}

std::string make_script(const std::string& png, const Results& r, const std::string& title, int* lines) {
    std::ostringstream s;
    s << "set terminal pngcairo size 820,500 noenhanced font 'sans,9'\n"
      << "set output " << quoted(png) << "\n"
      << "set title " << quoted(title) << "\n"
      << "set logscale xy\n"
      << "set xlabel 'message size'\n"
      << "set ylabel 'round-trip latency, p50 (ns)'\n"
      << "set grid xtics ytics mytics\n"
      << "set key outside right top\n"
      << "set format y '%.0s%c'\n"
      << "set xtics (";
    for (size_t i = 0; i < r.sizes.size(); i++) {
        s << (i ? ", " : "") << quoted(format_size(r.sizes[i])) << " " << r.sizes[i];
    }
    s << ")\n";
    std::ostringstream plot;
    *lines = 0;
    for (const std::string& m : r.mechanisms) {
        std::ostringstream data;
        int points = 0;
        for (size_t size : r.sizes) {
            const double p50 = r.figure(m, Mode::RoundTrip, size);
            if (p50 > 0) {
                data << size << " " << p50 << "\n";
                points++;
            }
        }
        if (points == 0) continue;
        const std::string block = "$d" + std::to_string(*lines);
        s << block << " << EOD\n" << data.str() << "EOD\n";
        // Distinct colours beyond gnuplot's eight; the baseline dashed.
        static const char* const colours[] = {"#000000", "#d62728", "#ff7f0e", "#1f77b4", "#17becf", "#2ca02c",
                                              "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"};
        const char* colour = colours[size_t(*lines) % (sizeof colours / sizeof colours[0])];
        plot << (*lines ? ", \\\n     " : "plot ") << block << " using 1:2 with linespoints lw 2 pt 7 ps 0.7 lc rgb '"
             << colour << "'" << (m == kRaw ? " dt 2" : "") << " title " << quoted(m);
        ++*lines;
    }
    s << plot.str() << "\n";
    return s.str();
}

// Waits up to 20 s for gnuplot; a plot is never worth hanging for.
int wait_bounded(pid_t pid) {
    for (int i = 0; i < 2000; i++) {
        int status;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) return status;
        if (w < 0) return -1;
        timespec ts = {0, 10'000'000};
        nanosleep(&ts, nullptr);
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return -1;
}

}  // namespace

std::string plot_latency(const std::string& png, const Results& r, const std::string& title) {
    const std::string gnuplot = find_in_path("gnuplot");
    if (gnuplot.empty()) return "gnuplot is not installed (sudo apt-get install -y gnuplot-nox)";
    int lines;
    const std::string script = make_script(png, r, title, &lines);
    if (lines == 0) return "no round-trip results to plot";
    std::string error;
    if (!make_parent_dirs(png, &error)) return error;

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
    posix_spawnattr_init(&attr);
    // The coordinator blocks SIGINT and friends (runner.cc); gnuplot must not inherit that.
    // It gets the default SIGPIPE back, which the coordinator ignores.
    sigset_t none, pipe_signal;
    sigemptyset(&none);
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &pipe_signal);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char* argv[] = {const_cast<char*>(gnuplot.c_str()), nullptr};
    pid_t pid;
    const int rc = posix_spawn(&pid, gnuplot.c_str(), &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(fds[0]);
    if (rc != 0) {
        close(fds[1]);
        return "cannot run gnuplot: " + std::string(std::strerror(rc));
    }
    // The script is a few KiB: it fits the pipe, so this cannot block on a stuck gnuplot.
    bool written = true;
    for (size_t off = 0; off < script.size();) {
        ssize_t w = write(fds[1], script.data() + off, script.size() - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            written = false;
            break;
        }
        off += size_t(w);
    }
    close(fds[1]);
    const int status = wait_bounded(pid);
    if (!written || status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return "gnuplot failed";
    return "";
}

}  // namespace bench
