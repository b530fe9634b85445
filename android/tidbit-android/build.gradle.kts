// The Android library apps depend on: the Rust core per ABI under src/main/jniLibs (built by
// ../build-android.sh), the generated bindings (dev.tidbit.ffi and, for the core's own records
// and enums, dev.tidbit.ffi.core), the coroutine wrapper (dev.tidbit) and the platform adapters
// (dev.tidbit.android: Keystore, logcat, WorkManager sync and course updates).
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "dev.tidbit"
    compileSdk = 35
    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    sourceSets["main"].java.srcDirs("src/main/kotlin")
    packaging {
        // 16 KB page alignment: keep the .so files uncompressed and page-aligned in the APK.
        jniLibs.useLegacyPackaging = false
    }
}

dependencies {
    implementation("net.java.dev.jna:jna:5.13.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    implementation("androidx.security:security-crypto:1.1.0-alpha06")
    implementation("androidx.work:work-runtime-ktx:2.9.1")
}
