package dev.timerangeio;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A growable buffer of canonical JSON as UTF-8 bytes, and the writers of its scalars: strings
 * escaped as {@link IdempotencyKeys#writeString} escapes them, integers, ASCII text. {@link
 * FastCanonicalJson} writes a value into it, and the key is hashed from these bytes, with no
 * String, StringBuilder or UTF-8 encoding pass in between (issue 19). What only the general path
 * may write (a lone surrogate) throws {@link FastCanonicalJson.Unsupported}.
 */
final class JsonBytes {
  /** Arrays much larger than this can't be allocated on most JVMs. */
  private static final int MAX_CAPACITY = Integer.MAX_VALUE - 16;

  /**
   * How each ASCII char is written in a string: 0 as it is, else the letter after the backslash
   * ({@code u} for {@code \}{@code u00xx}).
   */
  private static final byte[] ESCAPES = new byte[128];

  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);

  /** Strings this long are scanned in bulk; for shorter ones getBytes' array costs more. */
  private static final int BULK_MIN_CHARS = 16;

  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long LOW_BITS = 0x0101010101010101L;
  private static final long HIGH_BITS = 0x8080808080808080L;

  static {
    for (int c = 0; c < 0x20; c++) {
      ESCAPES[c] = 'u';
    }
    ESCAPES['"'] = '"';
    ESCAPES['\\'] = '\\';
    ESCAPES['\b'] = 'b';
    ESCAPES['\t'] = 't';
    ESCAPES['\n'] = 'n';
    ESCAPES['\f'] = 'f';
    ESCAPES['\r'] = 'r';
  }

  private byte[] bytes;
  private int length;

  JsonBytes(int capacity) {
    bytes = new byte[capacity];
  }

  /** The buffer, holding {@link #length()} bytes; valid until the next write. */
  byte[] bytes() {
    return bytes;
  }

  int length() {
    return length;
  }

  /** Forgets the bytes from {@code length} on. */
  void truncate(int length) {
    this.length = length;
  }

  /** Drops a buffer grown past {@code retained} bytes, so a huge value isn't kept. */
  void shrink(int retained, int initial) {
    if (bytes.length > retained) {
      bytes = new byte[initial];
    }
  }

  /** The bytes as text; they are UTF-8 of whole code points. */
  String text() {
    return new String(bytes, 0, length, StandardCharsets.UTF_8);
  }

  boolean isNull() {
    return length == 4 && bytes[0] == 'n' && bytes[1] == 'u' && bytes[2] == 'l' && bytes[3] == 'l';
  }

  void punct(char c) {
    ensure(1);
    bytes[length++] = (byte) c;
  }

  /** Text that is ASCII (numbers, punctuation, literals), a byte per char. */
  void ascii(String s) {
    int n = s.length();
    ensure(n);
    byte[] b = bytes;
    int p = length;
    for (int i = 0; i < n; i++) {
      b[p++] = (byte) s.charAt(i);
    }
    length = p;
  }

  /** Canonical JSON the general path wrote, encoded as the whole text used to be. */
  void utf8(String s) {
    byte[] encoded = s.getBytes(StandardCharsets.UTF_8);
    append(encoded, 0, encoded.length);
  }

  void append(byte[] source, int from, int to) {
    int n = to - from;
    ensure(n);
    byte[] b = bytes;
    int p = length;
    for (int i = from; i < to; i++) {
      b[p++] = source[i];
    }
    length = p;
  }

  /** A long's decimal digits, as {@code Long.toString}, without the String. */
  void longValue(long v) {
    if (v == Long.MIN_VALUE) {
      ascii("-9223372036854775808"); // the one long whose magnitude is no long
      return;
    }
    ensure(20);
    if (v < 0) {
      bytes[length++] = '-';
      v = -v;
    }
    int end = length + digitCount(v);
    digits(v, end);
    length = end;
  }

  /** Writes the decimal digits of {@code v} ≥ 0 so that they end before {@code end}. */
  void digits(long v, int end) {
    byte[] b = bytes;
    int p = end;
    do {
      b[--p] = (byte) ('0' + v % 10);
      v /= 10;
    } while (v != 0);
  }

  static int digitCount(long v) {
    int count = 1;
    for (long limit = 10; count < 19 && v >= limit; limit *= 10) {
      count++;
    }
    return count;
  }

  /**
   * A string, quoted and escaped as RFC 8785 says, UTF-8 encoded by hand: ASCII a byte per char by
   * table, a surrogate pair one 4-byte code point, a lone surrogate {@link
   * FastCanonicalJson.Unsupported} (the general path says where). A long string's plain ASCII
   * prefix is copied in bulk ({@link #plainPrefix}).
   */
  void string(String s) {
    int n = s.length();
    // Room for the quotes and a byte per char; a char needing more makes room for itself.
    ensure(n + 2L);
    byte[] b = bytes;
    int p = length;
    b[p++] = '"';
    int i = 0;
    if (n >= BULK_MIN_CHARS) {
      // A Latin-1 string's bytes are one array copy; chars beyond Latin-1 become '?' (a pair one
      // '?', so the length differs), which plainPrefix tells from a real '?'.
      byte[] latin1 = s.getBytes(StandardCharsets.ISO_8859_1);
      if (latin1.length == n) {
        i = plainPrefix(s, latin1);
        System.arraycopy(latin1, 0, b, p, i);
        p += i;
      }
    }
    for (; i < n; i++) {
      char c = s.charAt(i);
      if (c < 0x80 && ESCAPES[c] == 0) {
        b[p++] = (byte) c;
        continue;
      }
      length = p;
      ensure(n - i + 6L); // this char's ≤ 6 bytes, a byte for each one left, the closing quote
      b = bytes;
      if (c < 0x80) {
        byte escape = ESCAPES[c];
        b[p++] = '\\';
        b[p++] = escape;
        if (escape == 'u') {
          b[p++] = '0';
          b[p++] = '0';
          b[p++] = HEX[c >> 4];
          b[p++] = HEX[c & 0xF];
        }
      } else if (c < 0x800) {
        b[p++] = (byte) (0xC0 | c >> 6);
        b[p++] = (byte) (0x80 | c & 0x3F);
      } else if (!Character.isSurrogate(c)) {
        b[p++] = (byte) (0xE0 | c >> 12);
        b[p++] = (byte) (0x80 | c >> 6 & 0x3F);
        b[p++] = (byte) (0x80 | c & 0x3F);
      } else if (Character.isHighSurrogate(c)
          && i + 1 < n
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        int cp = Character.toCodePoint(c, s.charAt(++i));
        b[p++] = (byte) (0xF0 | cp >> 18);
        b[p++] = (byte) (0x80 | cp >> 12 & 0x3F);
        b[p++] = (byte) (0x80 | cp >> 6 & 0x3F);
        b[p++] = (byte) (0x80 | cp & 0x3F);
      } else {
        throw FastCanonicalJson.Unsupported.INSTANCE; // a lone surrogate: the general path says where
      }
    }
    b[p++] = '"';
    length = p;
  }

  /**
   * How many leading chars of {@code s} are written as they are, one ASCII byte each, as read
   * from {@code latin1} ({@code s} in ISO-8859-1, a byte per char): eight at a time while none is
   * a control char, {@code "}, {@code \}, non-ASCII or {@code ?} (which may stand for a char
   * beyond Latin-1), then one at a time, a {@code ?} checked against {@code s}.
   */
  private static int plainPrefix(String s, byte[] latin1) {
    int n = latin1.length;
    int i = 0;
    while (i < n) {
      if (i + 8 <= n && specials((long) LONGS.get(latin1, i)) == 0) {
        i += 8;
        continue;
      }
      int c = latin1[i];
      if (c < 0 || ESCAPES[c] != 0 || (c == '?' && s.charAt(i) != '?')) {
        return i;
      }
      i++;
    }
    return n;
  }

  /**
   * Nonzero when one of the 8 bytes of {@code x} is below 0x20, {@code "}, {@code \}, {@code ?}
   * or from 0x80; zero otherwise. The usual SWAR tests: a byte below 0x20 borrows into its high
   * bit, a byte equal to {@code c} is a zero byte of {@code x ^ c}; a borrow only ever runs on
   * from a byte that is itself flagged, so the result is exact as a zero test.
   */
  private static long specials(long x) {
    long quote = x ^ (LOW_BITS * '"');
    long backslash = x ^ (LOW_BITS * '\\');
    long question = x ^ (LOW_BITS * '?');
    return ((x - LOW_BITS * 0x20) & ~x
            | (quote - LOW_BITS) & ~quote
            | (backslash - LOW_BITS) & ~backslash
            | (question - LOW_BITS) & ~question
            | x)
        & HIGH_BITS;
  }

  /** Makes room for {@code more} bytes; a value too large for an array goes the general way. */
  void ensure(long more) {
    long needed = length + more;
    if (needed <= bytes.length) {
      return;
    }
    if (needed > MAX_CAPACITY) {
      throw FastCanonicalJson.Unsupported.INSTANCE;
    }
    bytes = Arrays.copyOf(bytes, (int) Math.min(MAX_CAPACITY, Math.max(needed, 2L * bytes.length)));
  }
}
