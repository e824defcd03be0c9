# Plots for docs/benchmarks.md from report.py's data files.
# usage: gnuplot -e "datadir='DIR'; imgdir='DIR'" bench/compare/plots.gp
set terminal pngcairo size 900,480 font "sans,10" noenhanced
set style data histograms
set style fill solid 0.85 border -1
set boxwidth 0.8
set grid ytics
set key top right
set xtics rotate by -20 scale 0
set yrange [0:*]
set xrange [-0.6:*]   # histograms start at x = 0; no empty slot on the left

set output imgdir."/churn.png"
set style histogram clustered gap 1
set title "Churn: wrk Connection: close through each proxy (median of rounds)"
set ylabel "connections/s"
plot datadir."/churn.dat" using 2:xtic(1) title "1 thread" lc rgb "#4477aa", \
     "" using 3 title "2 threads" lc rgb "#66ccee"

set output imgdir."/keepalive.png"
set title "Keep-alive: wrk -c50 through each proxy (median of rounds)"
set ylabel "requests/s"
plot datadir."/keepalive.dat" using 2:xtic(1) title "1 thread" lc rgb "#4477aa", \
     "" using 3 title "2 threads" lc rgb "#66ccee"

set output imgdir."/bulk.png"
set title "Bulk: one iperf3 stream through each proxy, 1 thread"
set ylabel "Gbit/s"
plot datadir."/bulk.dat" using 2:xtic(1) notitle lc rgb "#228833"

set output imgdir."/idle.png"
set title "Idle memory: user RSS growth per idle proxied connection (5,000 held)"
set ylabel "bytes per connection"
plot datadir."/idle.dat" using 2:xtic(1) notitle lc rgb "#ccbb44", \
     2048 with lines dt 2 lw 2 lc rgb "#ee6677" title "target 2 KB"

set output imgdir."/capacity.png"
set title "Capacity: connections held to one backend, 4 sources x 1,000 ports"
set ylabel "upstream connections"
set yrange [0:4800]
plot datadir."/capacity.dat" using 2:xtic(1) notitle lc rgb "#aa3377", \
     4000 with lines dt 2 lw 2 lc rgb "#222222" title "4 x 1,000"

set output imgdir."/connect.png"
set style data linespoints
set xrange [*:*]
set xtics norotate
set title "Connect cost versus occupancy (portpool-bench-connect, 10,000 ports)"
set xlabel "occupancy of the port space (%)"
set ylabel "connect() median (us), log scale"
set logscale y
set yrange [*:*]
set key top left
plot datadir."/connect.dat" using 1:2 title "kernel (plain connect)" lw 2 pt 7 lc rgb "#ee6677", \
     "" using 1:3 title "pool (bind + connect)" lw 2 pt 5 lc rgb "#4477aa"
