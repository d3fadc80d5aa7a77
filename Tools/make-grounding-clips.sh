#!/usr/bin/env bash
# Writes a small Charades-STA-format grounding set of generated clips with known moments:
#   Tools/make-grounding-clips.sh OUTDIR
# OUTDIR/videos/G1.mp4 ... G4.mp4 (24 s each, 320x240, 12 fps, H.264): a moving test pattern
# (testsrc2) with another source over the whole frame between two known times, and
# OUTDIR/annotations.txt (`VIDEO START END##SENTENCE`): one query for the inserted moment and
# one for the pattern before it. The last moment's annotation runs past the end of its video
# (as some Charades-STA lines do), so the clamp to the duration is exercised.
# Then, e.g.: rstore eval grounding --preset charades-sta --annotations OUTDIR/annotations.txt --videos OUTDIR/videos --model M
set -euo pipefail
out=${1:?usage: $0 OUTDIR}
mkdir -p "$out/videos"
: > "$out/annotations.txt"
clip() {  # name source start end sentence
  ffmpeg -hide_banner -nostdin -v error -y -f lavfi -i "testsrc2=s=320x240:r=12:d=24" -f lavfi -t 24 -i "$2" \
    -filter_complex "[1]scale=320:240,fps=12[m];[0][m]overlay=enable='between(t,$3,$4)',format=yuv420p" -c:v libx264 -g 24 "$out/videos/$1.mp4"
  printf '%s %.1f %.1f##%s\n' "$1" "$3" "$4" "$5" >> "$out/annotations.txt"
  printf '%s 0.0 %.1f##%s\n' "$1" "$3" "a moving colourful test pattern with a counter" >> "$out/annotations.txt"
}
clip G1 smptebars 6 14 "colour bars fill the screen"
clip G2 "mandelbrot" 10 18 "a fractal zooming in"
clip G3 "color=c=red" 4 9 "the screen turns red"
clip G4 "life=mold=10:r=12:ratio=0.1:death_color=#C83232:life_color=#00ff00" 15 24 "a green cellular pattern grows"
# The last moment as annotated runs 1 s past the 24 s clip (clamped when scored).
sed -i 's/^G4 15.0 24.0##/G4 15.0 25.0##/' "$out/annotations.txt"
echo "wrote $(wc -l < "$out/annotations.txt") queries over 4 clips to $out"
